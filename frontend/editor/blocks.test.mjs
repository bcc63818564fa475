// The Tokui blocks: mail-safe HTML, only the Liquid variables and filters the renderer provides, loops where the
// browser keeps them, and the legally required footer. No browser needed.
import assert from "node:assert/strict";
import { test } from "node:test";

import { blockDefinitions, escapeHtml, formatYen, productCard, tokuiBlocks } from "./blocks.js";
import {
  LIQUID_FILTERS,
  LIQUID_VARIABLES,
  liquidSegments,
  misplacedLiquid,
  restoreLiquid,
  wrappersToLiquid,
} from "./liquid.js";

const blocks = Object.fromEntries(tokuiBlocks().map(([id, , html]) => [id, wrappersToLiquid(html)]));
const ALLOWED = new Set(LIQUID_VARIABLES);

// Variables used by a template, with loop variables resolved: {% for item in cart.items %}{{ item.name }} →
// "cart.items[].name". Filters are collected too.
function usage(html) {
  const loops = {};
  const variables = new Set();
  const filters = new Set();
  const resolve = (path) => {
    const [root, ...rest] = path.split(".");
    return loops[root] ? [`${loops[root]}[]`, ...rest].join(".") : path;
  };
  for (const segment of liquidSegments(html)) {
    const body = segment.slice(2, -2).trim();
    if (segment.startsWith("{%")) {
      const loop = /^for\s+(\w+)\s+in\s+([\w.]+)/.exec(body);
      if (loop) loops[loop[1]] = resolve(loop[2]);
      const cond = /^if\s+([\w.]+)/.exec(body);
      if (cond) variables.add(resolve(cond[1]));
      continue;
    }
    const [expr, ...pipes] = body.split("|");
    variables.add(resolve(expr.trim()));
    for (const pipe of pipes) filters.add(pipe.trim().split(/[\s:]/)[0]);
  }
  return { variables, filters };
}

test("every block uses only the variables and filters the mail renderer provides", () => {
  for (const [id, html] of Object.entries(blocks)) {
    const { variables, filters } = usage(html);
    for (const v of variables) {
      // a loop's collection itself ("cart.items") and an if on an object ("last_order") are allowed too
      const known = ALLOWED.has(v) || LIQUID_VARIABLES.some((a) => a.startsWith(`${v}[]`) || a.startsWith(`${v}.`));
      assert.ok(known, `${id}: ${v}`);
    }
    for (const f of filters) assert.ok(LIQUID_FILTERS.includes(f), `${id}: filter ${f}`);
  }
});

test("no block puts Liquid where a browser would move it out of a table", () => {
  for (const [id, html] of Object.entries(blocks)) assert.deepEqual(misplacedLiquid(html), [], id);
});

test("blocks are table-based with inline styles and no scripts, classes or external images", () => {
  for (const [id, html] of Object.entries(blocks)) {
    assert.match(html, /^(\{% if [\w.]+ %\})?<table /, id);
    assert.doesNotMatch(html, /<script|<style|class=|https?:\/\/(?!")/i, id);
    assert.doesNotMatch(html, /<div/i, `${id}: loop wrappers must all become Liquid`);
  }
});

test("the cart block loops over the cart with image, name, price and quantity and links back to the cart", () => {
  const html = blocks["tokui-cart-items"];
  const loop = /\{% for item in cart\.items %\}([\s\S]*)\{% endfor %\}/.exec(html);
  assert.ok(loop, html);
  for (const v of ["item.image_url", "item.name", "item.price | yen", "item.quantity", "item.url"]) {
    assert.ok(loop[1].includes(`{{ ${v} }}`), v);
  }
  assert.match(html, /<a href="\{\{ cart\.url \}\}"[^>]*>カートに戻る<\/a>/);
});

test("ranking and recommendations loop with a top-N limit; the previous order has a reorder link", () => {
  assert.match(blocks["tokui-ranking"], /\{% for item in ranking limit: 5 %\}[\s\S]*\{\{ item\.rank \}\}[\s\S]*\{% endfor %\}/);
  assert.match(blocks["tokui-recommendations"], /\{% for item in recommendations limit: 4 %\}/);
  const order = blocks["tokui-last-order"];
  assert.match(order, /^\{% if last_order %\}[\s\S]*\{% for line in last_order\.lines %\}[\s\S]*\{% endif %\}$/);
  assert.match(order, /href="\{\{ last_order\.reorder_url \}\}"/);
  assert.match(order, /\{\{ last_order\.ordered_at \| date_ja \}\}/);
});

test("coupon and points blocks show the code, the balance and the expiry", () => {
  assert.match(blocks["tokui-coupon"], /\{\{ coupon\.code \}\}/);
  for (const v of ["points.balance", "points.expiring", "points.expires_on | date_ja"]) {
    assert.ok(blocks["tokui-points"].includes(`{{ ${v} }}`), v);
  }
});

test("the footer has the sender's identity and the opt-out links (特定電子メール法)", () => {
  const html = blocks["tokui-footer"];
  for (const v of ["sender.company", "sender.address", "sender.email"]) assert.ok(html.includes(`{{ ${v} }}`), v);
  assert.match(html, /<a href="\{\{ unsubscribe_url \}\}"[^>]*>配信停止<\/a>/);
  assert.match(html, /<a href="\{\{ preferences_url \}\}"[^>]*>配信設定の変更<\/a>/);
});

test("the text block greets with a default for a missing name", () => {
  assert.ok(blocks["tokui-text"].includes('{{ contact.name | default: "ご担当者" }}'));
});

test("the blocks are in the Tokui category with Japanese labels, columns in 2 and 3", () => {
  const defs = blockDefinitions();
  assert.deepEqual(
    defs.map((b) => b.id),
    [
      "tokui-text",
      "tokui-image",
      "tokui-button",
      "tokui-columns-2",
      "tokui-columns-3",
      "tokui-divider",
      "tokui-product-grid",
      "tokui-cart-items",
      "tokui-ranking",
      "tokui-recommendations",
      "tokui-last-order",
      "tokui-coupon",
      "tokui-points",
      "tokui-footer",
    ],
  );
  for (const b of defs) assert.equal(b.category, "tokui");
  assert.equal((blocks["tokui-columns-3"].match(/width="33%"/g) || []).length, 3);
  assert.equal((blocks["tokui-columns-2"].match(/width="50%"/g) || []).length, 2);
});

test("product cards escape what the user typed and format prices in yen", () => {
  const html = productCard({ name: 'A&B "新作"', price: "1980", image: "/media/a.jpg", url: "https://shop.example/a?x=1&y=2" });
  assert.ok(html.includes("A&amp;B &quot;新作&quot;"));
  assert.ok(html.includes('href="https://shop.example/a?x=1&amp;y=2"'));
  assert.ok(html.includes(">1,980円<"));
  assert.equal(formatYen("¥12,800"), "12,800円");
  assert.equal(formatYen("オープン価格"), "オープン価格");
  assert.equal(escapeHtml("<b>"), "&lt;b&gt;");
});

test("restoreLiquid leaves every block's exported Liquid unchanged", () => {
  for (const [id, html] of Object.entries(blocks)) assert.equal(restoreLiquid(html), html, id);
});

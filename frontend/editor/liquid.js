// Liquid helpers of the mail editor. Pure functions (no DOM), shared by the editor and its unit tests.
//
// GrapesJS serialises text with & < > escaped and attribute values with & < > " escaped. Liquid then sees
// `{{ x | default: &quot;ご担当者&quot; }}` or `{% if a &gt; 0 %}` and fails (or prints entities), so the exported
// HTML is passed through restoreLiquid(), which puts back the characters inside {{ }} and {% %} only.

const LIQUID_SEGMENT = /\{\{[\s\S]*?\}\}|\{%[\s\S]*?%\}/g;

// Entities GrapesJS (or a browser's innerHTML) produces. &apos; is left alone on purpose: GrapesJS uses it only
// inside a single-quoted attribute (altQuoteAttr), where a raw ' would end the attribute.
const ENTITIES = [
  [/&lt;/g, "<"],
  [/&gt;/g, ">"],
  [/&quot;|&#34;|&#x22;/gi, '"'],
  [/&#0?39;|&#x27;/gi, "'"],
  [/&nbsp;|&#160;|\u00a0/g, " "],
  [/&amp;/g, "&"], // last, so "&amp;lt;" becomes "&lt;" and not "<"
];

/** Put back the characters GrapesJS escaped inside Liquid output and tags; everything else is unchanged. */
export function restoreLiquid(html) {
  return html.replace(LIQUID_SEGMENT, (segment) => {
    let out = segment;
    for (const [pattern, char] of ENTITIES) out = out.replace(pattern, char);
    return out;
  });
}

/** The Liquid segments of a template, in order (used by tests and by the check that nothing was lost). */
export function liquidSegments(html) {
  return html.match(LIQUID_SEGMENT) || [];
}

// A loop or condition is a <div data-tokui-for="item in cart.items" data-tokui-limit="5"> (or data-tokui-if) in the
// editor, so the browser's HTML parser never sees Liquid text between table rows (it would move it out of the
// table). On export the div itself disappears: only the Liquid tags and the children are written.

const FOR_EXPR = /^\s*([a-z_][a-z0-9_]*)\s+in\s+([a-z_][a-z0-9_.]*)\s*$/i;
const IF_EXPR = /^\s*[a-z_][a-z0-9_.]*\s*$/i;

/** The opening Liquid tag for a loop/condition component's attributes, or "" when they are not valid. */
export function liquidOpenTag(attributes) {
  const forExpr = attributes["data-tokui-for"];
  if (forExpr) {
    if (!FOR_EXPR.test(forExpr)) return "";
    const limit = Number.parseInt(attributes["data-tokui-limit"], 10);
    const limitPart = Number.isFinite(limit) && limit > 0 ? ` limit: ${Math.min(limit, 100)}` : "";
    return `{% for ${forExpr.trim().replace(/\s+/g, " ")}${limitPart} %}`;
  }
  const ifExpr = attributes["data-tokui-if"];
  if (ifExpr && IF_EXPR.test(ifExpr)) return `{% if ${ifExpr.trim()} %}`;
  return "";
}

/** The closing tag matching liquidOpenTag(). */
export function liquidCloseTag(attributes) {
  if (!liquidOpenTag(attributes)) return "";
  return attributes["data-tokui-for"] ? "{% endfor %}" : "{% endif %}";
}

// The variables and filters the mail renderer provides (docs/guide/*/mail-editor.md lists them for marketers).
// "[]" marks a list: `{% for item in cart.items %}{{ item.name }}` uses cart.items[].name.
export const LIQUID_VARIABLES = [
  "contact.name",
  "company.name",
  "cart.items[].name",
  "cart.items[].image_url",
  "cart.items[].price",
  "cart.items[].quantity",
  "cart.items[].url",
  "cart.url",
  "recommendations[].name",
  "recommendations[].image_url",
  "recommendations[].price",
  "recommendations[].url",
  "ranking[].rank",
  "ranking[].name",
  "ranking[].image_url",
  "ranking[].price",
  "ranking[].url",
  "last_order.ordered_at",
  "last_order.total",
  "last_order.lines[].name",
  "last_order.lines[].quantity",
  "last_order.lines[].price",
  "last_order.reorder_url",
  "coupon.code",
  "points.balance",
  "points.expiring",
  "points.expires_on",
  "unsubscribe_url",
  "preferences_url",
  "sender.name",
  "sender.company",
  "sender.address",
  "sender.email",
];
export const LIQUID_FILTERS = ["yen", "date_ja", "default"];

const TAG = /<(\/?)([a-zA-Z][a-zA-Z0-9]*)\b((?:[^>"']|"[^"]*"|'[^']*')*)>/g;
const VOID = new Set(["area", "br", "col", "hr", "img", "input", "meta", "link", "source", "wbr"]);
const TABLE_CONTEXT = new Set(["table", "thead", "tbody", "tfoot", "tr"]);

function attributesOf(source) {
  const attrs = {};
  for (const m of source.matchAll(/([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*("([^"]*)"|'([^']*)'|[^\s"'>]+))?/g)) {
    attrs[m[1].toLowerCase()] = m[3] ?? m[4] ?? m[2] ?? "";
  }
  return attrs;
}

/**
 * HTML as the editor exports it: each <div data-tokui-for|data-tokui-if> wrapper replaced by its Liquid tags
 * (what the tokui-liquid component's toHTML does). For HTML strings such as the blocks' content.
 */
export function wrappersToLiquid(html) {
  const stack = [];
  return html.replace(TAG, (tag, closing, name, rest) => {
    if (name.toLowerCase() !== "div") return tag;
    if (closing) return stack.pop() || tag;
    const attrs = attributesOf(rest);
    const open = liquidOpenTag(attrs);
    stack.push(open ? liquidCloseTag(attrs) : "</div>");
    return open || tag;
  });
}

/**
 * Liquid tags a browser would move out of a table: text directly inside <table>, <tbody> or <tr> (not in a cell)
 * is "foster-parented" before the table when the HTML is parsed, so such a loop no longer loops over the rows.
 * Returns the misplaced segments (empty when the HTML is safe to load into the editor).
 */
export function misplacedLiquid(html) {
  const stack = [];
  const misplaced = [];
  let last = 0;
  const checkText = (text) => {
    const parent = stack[stack.length - 1];
    if (parent && TABLE_CONTEXT.has(parent)) misplaced.push(...liquidSegments(text));
  };
  for (const m of html.matchAll(TAG)) {
    checkText(html.slice(last, m.index));
    last = m.index + m[0].length;
    const name = m[2].toLowerCase();
    if (m[1]) {
      const at = stack.lastIndexOf(name);
      if (at >= 0) stack.length = at;
    } else if (!VOID.has(name) && !m[0].endsWith("/>")) {
      stack.push(name);
    }
  }
  checkText(html.slice(last));
  return misplaced;
}

// Names shown on the editor's loop frames for HTML that comes in as text (saved HTML, the code import).
const FRAME_LABELS = {
  "cart.items": "カートの商品",
  ranking: "ランキング",
  recommendations: "おすすめ商品",
  "last_order.lines": "注文明細",
  last_order: "前回のご注文があるとき",
};
const BLOCK_PARENTS = new Set(["td", "th", "div", "body", "center"]);
const FOR_TAG = /^\{%-?\s*for\s+([a-z_][a-z0-9_]*)\s+in\s+([a-z_][a-z0-9_.]*)(?:\s+limit:\s*(\d+))?\s*-?%\}$/i;
const IF_TAG = /^\{%-?\s*if\s+([a-z_][a-z0-9_.]*)\s*-?%\}$/i;
const END_TAG = /^\{%-?\s*end(for|if)\s*-?%\}$/i;

/**
 * The reverse of wrappersToLiquid() for HTML that comes in as text: simple loops and conditions that stand between
 * blocks (directly in a cell, a div or the body, opened and closed under the same element) become the editor's
 * loop/condition frames again. Anything else — Liquid inside a paragraph, {% else %}, other tags — leaves the whole
 * HTML unchanged, so nothing is ever reinterpreted.
 */
export function liquidToWrappers(html) {
  const tags = [...html.matchAll(/\{%[\s\S]*?%\}/g)];
  if (!tags.length || tags.some((m) => !FOR_TAG.test(m[0]) && !IF_TAG.test(m[0]) && !END_TAG.test(m[0]))) return html;
  if (misplacedLiquid(html).length) return html;
  const elements = []; // open elements: { name, id }
  const open = []; // open Liquid blocks: { kind, parentId, index, replacement }
  const edits = [];
  let nextId = 1;
  let last = 0;
  const scanText = (text, offset) => {
    const parent = elements[elements.length - 1];
    for (const m of text.matchAll(/\{%[\s\S]*?%\}/g)) {
      if (parent && !BLOCK_PARENTS.has(parent.name)) return false;
      const parentId = parent ? parent.id : 0;
      const index = offset + m.index;
      const forTag = FOR_TAG.exec(m[0]);
      const ifTag = IF_TAG.exec(m[0]);
      if (forTag || ifTag) {
        const attrs = forTag
          ? `data-tokui-for="${forTag[1]} in ${forTag[2]}"${forTag[3] ? ` data-tokui-limit="${forTag[3]}"` : ""}` +
            ` data-tokui-label="${FRAME_LABELS[forTag[2]] || forTag[2]}"`
          : `data-tokui-if="${ifTag[1]}" data-tokui-label="${FRAME_LABELS[ifTag[1]] || ifTag[1]}"`;
        open.push({ kind: forTag ? "for" : "if", parentId, index, length: m[0].length, replacement: `<div ${attrs}>` });
        continue;
      }
      const block = open.pop();
      if (!block || block.kind !== END_TAG.exec(m[0])[1].toLowerCase() || block.parentId !== parentId) return false;
      edits.push(block, { index, length: m[0].length, replacement: "</div>" });
    }
    return true;
  };
  for (const m of html.matchAll(TAG)) {
    if (!scanText(html.slice(last, m.index), last)) return html;
    last = m.index + m[0].length;
    const name = m[2].toLowerCase();
    if (m[1]) {
      const at = elements.map((e) => e.name).lastIndexOf(name);
      if (at >= 0) elements.length = at;
    } else if (!VOID.has(name) && !m[0].endsWith("/>")) {
      elements.push({ name, id: nextId++ });
    }
  }
  if (!scanText(html.slice(last), last) || open.length) return html;
  let out = html;
  for (const edit of edits.sort((a, b) => b.index - a.index)) {
    out = out.slice(0, edit.index) + edit.replacement + out.slice(edit.index + edit.length);
  }
  return out;
}

// Unit tests of the mail editor's Liquid handling: `npm test` (node --test), no browser needed.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  liquidCloseTag,
  liquidOpenTag,
  liquidSegments,
  liquidToWrappers,
  misplacedLiquid,
  restoreLiquid,
  wrappersToLiquid,
} from "./liquid.js";

test("restoreLiquid puts back quotes and comparison signs GrapesJS escaped inside Liquid", () => {
  const exported =
    "<p>{{ contact.name | default: &quot;ご担当者&quot; }} 様 &amp; {% if points.balance &gt; 0 %}ok{% endif %}</p>";
  assert.equal(
    restoreLiquid(exported),
    '<p>{{ contact.name | default: "ご担当者" }} 様 &amp; {% if points.balance > 0 %}ok{% endif %}</p>',
  );
});

test("restoreLiquid leaves HTML outside Liquid escaped", () => {
  const html = "<p>A &amp; B &lt;tag&gt; &quot;x&quot;</p>";
  assert.equal(restoreLiquid(html), html);
});

test("restoreLiquid turns non-breaking spaces typed into a variable into spaces", () => {
  assert.equal(restoreLiquid("{{&nbsp;contact.name\u00a0}}"), "{{ contact.name }}");
});

test("restoreLiquid keeps Liquid in attributes exactly", () => {
  const html = '<a href="{{ cart.url }}"><img src="{{ item.image_url }}" alt="{{ item.name }}"></a>';
  assert.equal(restoreLiquid(html), html);
  assert.equal(restoreLiquid('<a href="{{ a &amp;&amp; b }}">'), '<a href="{{ a && b }}">');
});

test("restoreLiquid does not unescape &apos; which would end a single-quoted attribute", () => {
  const html = `<a title='{{ x | default: "it&apos;s" }}'>`;
  assert.equal(restoreLiquid(html), html);
});

test("liquidOpenTag builds loops with an optional limit and conditions", () => {
  assert.equal(liquidOpenTag({ "data-tokui-for": "item in cart.items" }), "{% for item in cart.items %}");
  assert.equal(
    liquidOpenTag({ "data-tokui-for": "item in ranking", "data-tokui-limit": "3" }),
    "{% for item in ranking limit: 3 %}",
  );
  assert.equal(liquidOpenTag({ "data-tokui-for": "item in ranking", "data-tokui-limit": "" }), "{% for item in ranking %}");
  assert.equal(liquidOpenTag({ "data-tokui-if": "last_order" }), "{% if last_order %}");
  assert.equal(liquidCloseTag({ "data-tokui-for": "item in ranking" }), "{% endfor %}");
  assert.equal(liquidCloseTag({ "data-tokui-if": "last_order" }), "{% endif %}");
});

test("liquidOpenTag refuses expressions that are not a plain loop or variable", () => {
  assert.equal(liquidOpenTag({ "data-tokui-for": "item in cart.items %}{% raw" }), "");
  assert.equal(liquidOpenTag({ "data-tokui-if": "a %}{{ b" }), "");
  assert.equal(liquidCloseTag({ "data-tokui-if": "a %}{{ b" }), "");
  assert.equal(liquidOpenTag({}), "");
});

test("wrappersToLiquid replaces nested loop and condition wrappers by their tags", () => {
  const html =
    '<div data-tokui-if="last_order" data-tokui-label="x"><p>a</p>' +
    '<div data-tokui-for="line in last_order.lines" data-tokui-label="y"><table><tr><td>{{ line.name }}</td></tr></table></div>' +
    "<div>plain</div></div>";
  assert.equal(
    wrappersToLiquid(html),
    "{% if last_order %}<p>a</p>{% for line in last_order.lines %}<table><tr><td>{{ line.name }}</td></tr></table>" +
      "{% endfor %}<div>plain</div>{% endif %}",
  );
});

test("misplacedLiquid finds loops between table rows and accepts loops inside cells", () => {
  const rows = "<table><tr><td>a</td></tr>{% for x in y %}<tr><td>{{ x.name }}</td></tr>{% endfor %}</table>";
  assert.deepEqual(misplacedLiquid(rows), ["{% for x in y %}", "{% endfor %}"]);
  const cells = "<table><tr><td>{% for x in y %}<table><tr><td>{{ x.name }}</td></tr></table>{% endfor %}</td></tr></table>";
  assert.deepEqual(misplacedLiquid(cells), []);
  assert.deepEqual(misplacedLiquid("<p>{{ a }}<br>{{ b }}<img src='{{ c }}'></p>"), []);
});

test("liquidSegments lists every output and tag", () => {
  assert.deepEqual(liquidSegments("a {{ b }} c {% d %}"), ["{{ b }}", "{% d %}"]);
});

test("liquidToWrappers turns loops between blocks back into editor frames, the reverse of the export", () => {
  const exported =
    "<table><tr><td><h2>人気</h2>{% for item in ranking limit: 3 %}<table><tr><td>{{ item.name }}</td></tr></table>" +
    "{% endfor %}</td></tr></table>{% if last_order %}<table><tr><td>{% for line in last_order.lines %}" +
    "<p>{{ line.name }}</p>{% endfor %}</td></tr></table>{% endif %}";
  const frames = liquidToWrappers(exported);
  assert.equal(
    frames,
    '<table><tr><td><h2>人気</h2><div data-tokui-for="item in ranking" data-tokui-limit="3" data-tokui-label="ランキング">' +
      "<table><tr><td>{{ item.name }}</td></tr></table></div></td></tr></table>" +
      '<div data-tokui-if="last_order" data-tokui-label="前回のご注文があるとき"><table><tr><td>' +
      '<div data-tokui-for="line in last_order.lines" data-tokui-label="注文明細"><p>{{ line.name }}</p></div>' +
      "</td></tr></table></div>",
  );
  assert.equal(wrappersToLiquid(frames), exported);
});

test("liquidToWrappers leaves HTML it cannot represent exactly as it is", () => {
  const cases = [
    "<p>{% if contact.name %}様{% endif %}</p>", // inside a paragraph: a div would split it
    "<td>{% if a %}x{% else %}y{% endif %}</td>", // else has no frame
    "<td>{% for x in y %}<p>a</p></td><td>{% endfor %}</td>", // opened and closed in different cells
    "<td>{% for x in y %}</td>", // not closed
    "<td>{% if a > 1 %}x{% endif %}</td>", // not a plain variable
    "<table><tr><td>a</td></tr>{% for x in y %}<tr><td>b</td></tr>{% endfor %}</table>", // between rows
  ];
  for (const html of cases) assert.equal(liquidToWrappers(html), html, html);
});

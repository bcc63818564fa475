// Unit tests of reading the mail out of the editor into the template form (a fake editor: no browser needed).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  bodyInner,
  csrfToken,
  exportMail,
  fillForm,
  initialContent,
  withoutPlaceholderImages,
  wrapperCssToBody,
} from "./form.js";

function fakeEditor(html, css = "", project = { pages: [] }) {
  const calls = [];
  return {
    calls,
    getHtml(opts) {
      calls.push(opts);
      return html;
    },
    getCss(opts) {
      calls.push(opts);
      return css;
    },
    getWrapper: () => ({ getId: () => "wrp" }),
    getProjectData: () => project,
  };
}

test("exportMail returns the body HTML with Liquid verbatim, the CSS and the project JSON", () => {
  const editor = fakeEditor(
    '<body id="w"><p>{{ contact.name | default: &quot;ご担当者&quot; }} 様</p>' +
      '<a href="{{ cart.url }}">カートに戻る</a>{% for item in cart.items %}<table><tr><td>{{ item.price | yen }}</td></tr></table>{% endfor %}</body>',
    "#i1{color:red;}#wrp{background-color:#fff4e6;}",
    { pages: [{ id: "p" }] },
  );
  const mail = exportMail(editor);
  assert.equal(
    mail.html,
    '<p>{{ contact.name | default: "ご担当者" }} 様</p><a href="{{ cart.url }}">カートに戻る</a>' +
      "{% for item in cart.items %}<table><tr><td>{{ item.price | yen }}</td></tr></table>{% endfor %}",
  );
  assert.equal(mail.css, "#i1{color:red;}body{background-color:#fff4e6;}");
  assert.deepEqual(JSON.parse(mail.project), { pages: [{ id: "p" }] });
  assert.deepEqual(editor.calls, [{ altQuoteAttr: true }, { avoidProtected: true }]);
});

test("bodyInner keeps HTML that has no body wrapper", () => {
  assert.equal(bodyInner("<p>x</p>"), "<p>x</p>");
  assert.equal(bodyInner('<body class="a">\n<p>x</p>\n</body>'), "\n<p>x</p>\n");
});

test("fillForm writes html, css and project into the form's fields", () => {
  const fields = { html: { value: "" }, css: { value: "" }, project: { value: "" }, other: { value: "keep" } };
  const form = { elements: { namedItem: (name) => fields[name] || null } };
  fillForm(form, { html: "<p>h</p>", css: "c", project: "{}" });
  assert.deepEqual(
    Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v.value])),
    { html: "<p>h</p>", css: "c", project: "{}", other: "keep" },
  );
});

test("initialContent prefers the saved project, then the saved HTML, then the starter", () => {
  const project = JSON.stringify({ pages: [{ frames: [] }] });
  assert.deepEqual(initialContent(project, "<p>old</p>", "<p>new</p>"), { projectData: { pages: [{ frames: [] }] } });
  assert.deepEqual(initialContent("", "<p>old</p>", "<p>new</p>"), { components: "<p>old</p>" });
  assert.deepEqual(initialContent("  ", "  ", "<p>new</p>"), { components: "<p>new</p>" });
  assert.deepEqual(initialContent("", "<p>old</p>", "<p>new</p>", "p{color:red}"), {
    components: "<style>p{color:red}</style><p>old</p>",
  });
});

test("initialContent falls back to the saved HTML when the project is broken", () => {
  assert.deepEqual(initialContent("{not json", "<p>old</p>", "<p>new</p>"), { components: "<p>old</p>" });
  assert.deepEqual(initialContent('{"no": "pages"}', "<p>old</p>", "<p>new</p>"), { components: "<p>old</p>" });
});

test("csrfToken reads Django's csrftoken cookie", () => {
  assert.equal(csrfToken("sessionid=abc; csrftoken=tok%3D1; theme=dark"), "tok=1");
  assert.equal(csrfToken("sessionid=abc"), "");
  assert.equal(csrfToken(""), "");
});

test("an image still showing GrapesJS's placeholder is written with an empty address", () => {
  const html = '<img src="data:image/svg+xml;base64,PHN2Zz4=" alt="x"><img src="/media/a.png">';
  assert.equal(withoutPlaceholderImages(html), '<img src="" alt="x"><img src="/media/a.png">');
});

test("styles of the whole mail (the wrapper's id) become body styles", () => {
  assert.equal(
    wrapperCssToBody("#w1{background-color:red;}#w1x{color:blue;}#w1:hover{color:red;}", "w1"),
    "body{background-color:red;}#w1x{color:blue;}body:hover{color:red;}",
  );
  assert.equal(wrapperCssToBody("#a{}", ""), "#a{}");
});

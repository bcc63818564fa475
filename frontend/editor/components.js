// Component types of the mail editor: Liquid loops/conditions and product cards. They need GrapesJS's editor
// object but no module state; the Liquid strings come from the pure functions in liquid.js and blocks.js.
import { liquidCloseTag, liquidOpenTag } from "./liquid.js";
import { escapeHtml, formatYen } from "./blocks.js";

const LIMIT_TRAIT = { type: "number", name: "data-tokui-limit", label: "表示する件数", min: 1, max: 50 };

const PRODUCT_TRAITS = [
  { name: "data-product-name", label: "商品名", changeProp: false },
  { name: "data-product-price", label: "価格（円）", changeProp: false },
  { name: "data-product-image", label: "画像 URL", changeProp: false },
  { name: "data-product-url", label: "リンク先 URL", changeProp: false },
];

function isElement(el, tagName, attribute) {
  return el && el.nodeType === 1 && el.tagName === tagName && el.hasAttribute(attribute);
}

// Shown in the canvas for an image whose address is Liquid ({{ item.image_url }}): the browser would otherwise
// request "%7B%7B item.image_url %7D%7D" from Tokui and log a 404 for every sample image.
const LIQUID_IMAGE =
  "data:image/svg+xml," +
  encodeURIComponent(
    '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="120" viewBox="0 0 120 120">' +
      '<rect width="120" height="120" fill="#e9ecef"/><text x="60" y="66" font-size="14" text-anchor="middle" ' +
      'fill="#868e96" font-family="sans-serif">商品画像</text></svg>',
  );

export function registerComponents(editor) {
  const { Components } = editor;

  const imageView = Components.getType("image").view;
  Components.addType("image", {
    view: imageView.extend({
      updateAttributes(...args) {
        imageView.prototype.updateAttributes.apply(this, args);
        const src = this.el.getAttribute("src") || "";
        if (src.startsWith("{{") || src.startsWith("{%")) this.el.setAttribute("src", LIQUID_IMAGE);
      },
    }),
  });

  // <div data-tokui-for="item in ranking" data-tokui-limit="5"> in the editor → {% for … %}children{% endfor %}.
  Components.addType("tokui-liquid", {
    isComponent: (el) =>
      isElement(el, "DIV", "data-tokui-for") || isElement(el, "DIV", "data-tokui-if") ? { type: "tokui-liquid" } : false,
    model: {
      defaults: { tagName: "div", droppable: true, traits: [] },
      init() {
        const attrs = this.getAttributes();
        const kind = attrs["data-tokui-for"] ? "繰り返し" : "条件";
        this.set("name", `${kind}：${attrs["data-tokui-label"] || ""}`);
        this.setTraits("data-tokui-limit" in attrs ? [LIMIT_TRAIT] : []);
      },
      toHTML(opts) {
        const attrs = this.getAttributes();
        const inner = this.getInnerHTML(opts);
        const open = liquidOpenTag(attrs);
        return open ? `${open}${inner}${liquidCloseTag(attrs)}` : inner;
      },
    },
  });

  // A picked product: its settings (traits) rewrite the image, name, price and links inside the card.
  Components.addType("tokui-product-card", {
    extend: "table",
    isComponent: (el) => (isElement(el, "TABLE", "data-tokui-product") ? { type: "tokui-product-card" } : false),
    model: {
      defaults: { traits: PRODUCT_TRAITS },
      init() {
        this.set("name", "商品カード");
        this.on("change:attributes", this.fillParts);
      },
      fillParts() {
        const attrs = this.getAttributes();
        const name = attrs["data-product-name"] || "";
        const url = attrs["data-product-url"] || "https://";
        this.onAll((cmp) => {
          const part = cmp.getAttributes()["data-product-part"];
          if (part === "image") {
            cmp.set("src", attrs["data-product-image"] || "");
            cmp.addAttributes({ alt: name });
          } else if (part === "link") {
            cmp.addAttributes({ href: url });
          } else if (part === "name") {
            cmp.addAttributes({ href: url });
            cmp.components(escapeHtml(name || "商品名"));
          } else if (part === "price") {
            cmp.components(escapeHtml(formatYen(attrs["data-product-price"]) || "0円"));
          }
        });
      },
    },
  });
}

// Shown inside the editor's canvas only (never in the mail): where loops and conditions are.
export const CANVAS_CSS = `
[data-tokui-for], [data-tokui-if] { position: relative; outline: 1px dashed #4c9790; outline-offset: -1px; padding-top: 18px; }
[data-tokui-for]::before, [data-tokui-if]::before {
  position: absolute; top: 0; left: 0; padding: 1px 6px; font: 11px/16px sans-serif; color: #fff; background: #4c9790;
}
[data-tokui-for]::before { content: "繰り返し：" attr(data-tokui-label); }
[data-tokui-if]::before { content: "表示する条件：" attr(data-tokui-label); }
`;

// The style manager of the mail editor: the newsletter preset's sectors (sizes, text, background and borders),
// without its Font Awesome icons (not shipped) so the Japanese option labels of locale-ja.js show instead.

const radio = (property, values) => ({ property, type: "radio", options: values.map((id) => ({ id })) });
const select = (property, options) => ({ property, type: "select", options });

export const FONT_OPTIONS = [
  { id: "'Hiragino Kaku Gothic ProN','Hiragino Sans',Meiryo,sans-serif", label: "ゴシック体" },
  { id: "'Hiragino Mincho ProN','Yu Mincho',serif", label: "明朝体" },
  { id: "Arial,Helvetica,sans-serif", label: "Arial（英数字）" },
  { id: "Georgia,serif", label: "Georgia（英数字）" },
];

export const styleSectors = [
  {
    id: "dimension",
    name: "Dimension",
    open: false,
    buildProps: ["width", "max-width", "height", "min-height", "margin", "padding"],
  },
  {
    id: "typography",
    name: "Typography",
    open: false,
    properties: [
      select("font-family", FONT_OPTIONS),
      "font-size",
      "font-weight",
      "color",
      "line-height",
      "letter-spacing",
      radio("text-align", ["left", "center", "right", "justify"]),
      radio("text-decoration", ["none", "underline", "line-through"]),
      radio("font-style", ["normal", "italic"]),
      select("vertical-align", [{ id: "baseline" }, { id: "top" }, { id: "middle" }, { id: "bottom" }]),
    ],
  },
  {
    id: "decorations",
    name: "Decorations",
    open: true,
    properties: ["background-color", "background", "border-radius", "border", radio("border-collapse", ["separate", "collapse"])],
  },
];

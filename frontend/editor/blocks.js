// The Tokui blocks of the mail editor: mail-safe, table-based HTML with inline styles (the server inlines the
// editor's CSS again with css-inline) and the Liquid variables the mail renderer provides. Pure functions only.
//
// Loops and conditions are <div data-tokui-for|data-tokui-if> wrappers placed INSIDE a table cell and around whole
// tables (see liquid.js): the editor shows one sample item, the export writes {% for %}…{% endfor %}.

export const CATEGORY = "tokui";

const FONT = "font-family:'Hiragino Kaku Gothic ProN','Hiragino Sans',Meiryo,sans-serif;";
const TEXT = `${FONT}font-size:15px;line-height:1.7;color:#333333;`;
const SMALL = `${FONT}font-size:12px;line-height:1.6;color:#777777;`;
const HEADING = `${FONT}font-size:20px;font-weight:bold;line-height:1.4;color:#222222;margin:0;`;
const BUTTON_CELL = "border-radius:4px;background-color:#d9480f;";
const BUTTON_LINK =
  `${FONT}display:inline-block;padding:12px 28px;font-size:15px;font-weight:bold;color:#ffffff;` +
  "text-decoration:none;border-radius:4px;";
const IMAGE = "display:block;max-width:100%;height:auto;border:0;";
// Outer tables are the mail's 600px column, centred (Outlook for Windows ignores max-width and shows them full
// width, which still reads well); the marketer changes their background colours in the style manager.
const COLUMN = "width:100%;max-width:600px;margin:0 auto;border-collapse:collapse;";
const SECTION = `${COLUMN}background-color:#ffffff;`;

/** The style of a new mail's body: a light grey page around the white 600px column. */
export const STARTER_CSS = "body{margin:0;padding:16px 0;background-color:#f1f3f5;}";

/** Escape text for an HTML attribute or element (block builders take user-entered product data). */
export function escapeHtml(value) {
  return String(value ?? "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

/**
 * "1980" → "1,980円", as the server's `yen` filter writes prices, so picked products and looped ones look alike;
 * text that is not a number (e.g. "オープン価格") is shown as typed.
 */
export function formatYen(value) {
  const text = String(value ?? "").trim();
  const digits = text.replace(/[¥￥,円\s]/g, "");
  if (!/^\d+$/.test(digits)) return text;
  return `${Number(digits).toLocaleString("en-US")}円`;
}

function section(inner, { padding = "16px 24px", align = "left" } = {}) {
  return (
    `<table width="100%" cellpadding="0" cellspacing="0" role="presentation" style="${SECTION}">` +
    `<tr><td align="${align}" style="padding:${padding};${TEXT}">${inner}</td></tr></table>`
  );
}

function button(label, href) {
  return (
    '<table cellpadding="0" cellspacing="0" role="presentation" style="border-collapse:separate;margin:8px auto;">' +
    `<tr><td align="center" bgcolor="#d9480f" style="${BUTTON_CELL}">` +
    `<a href="${href}" target="_blank" style="${BUTTON_LINK}">${label}</a></td></tr></table>`
  );
}

function loop(expr, label, inner, { limit } = {}) {
  const limitAttr = limit ? ` data-tokui-limit="${limit}"` : "";
  return `<div data-tokui-for="${expr}"${limitAttr} data-tokui-label="${label}">${inner}</div>`;
}

function condition(expr, label, inner) {
  return `<div data-tokui-if="${expr}" data-tokui-label="${label}">${inner}</div>`;
}

// One row of a list: image on the left, text on the right. `v` is the loop variable's name.
function itemRow(v, details, { imageWidth = 96 } = {}) {
  return (
    '<table width="100%" cellpadding="0" cellspacing="0" role="presentation" ' +
    'style="border-collapse:collapse;border-bottom:1px solid #eeeeee;">' +
    `<tr><td width="${imageWidth}" valign="top" style="padding:12px 12px 12px 0;">` +
    `<a href="{{ ${v}.url }}" target="_blank"><img src="{{ ${v}.image_url }}" alt="{{ ${v}.name }}" ` +
    `width="${imageWidth}" style="${IMAGE}"></a></td>` +
    `<td valign="top" style="padding:12px 0;${TEXT}">${details}</td></tr></table>`
  );
}

/** Card content of a picked product; the card's traits (商品名, 価格, 画像, リンク先) fill it. */
export function productCardInner({ name = "", price = "", image = "", url = "" } = {}) {
  const href = escapeHtml(url || "https://");
  return (
    `<tr><td align="center" style="padding:8px;">` +
    `<a href="${href}" target="_blank" data-product-part="link"><img src="${escapeHtml(image)}" ` +
    `alt="${escapeHtml(name)}" width="250" data-product-part="image" style="${IMAGE}"></a></td></tr>` +
    `<tr><td style="padding:4px 8px;${TEXT}"><a href="${href}" target="_blank" data-product-part="name" ` +
    `style="color:#222222;text-decoration:none;">${escapeHtml(name || "商品名")}</a></td></tr>` +
    `<tr><td data-product-part="price" style="padding:0 8px 12px;${TEXT}font-weight:bold;color:#d9480f;">` +
    `${escapeHtml(formatYen(price) || "0円")}</td></tr>`
  );
}

export function productCard(product = {}) {
  const attrs = ["name", "price", "image", "url"]
    .map((key) => ` data-product-${key}="${escapeHtml(product[key] ?? "")}"`)
    .join("");
  return (
    `<table data-tokui-product${attrs} width="100%" cellpadding="0" cellspacing="0" ` +
    `role="presentation" style="border-collapse:collapse;">${productCardInner(product)}</table>`
  );
}

function columns(count, cell) {
  const width = Math.floor(100 / count);
  const cells = Array.from({ length: count }, (_, i) => `<td width="${width}%" valign="top" style="padding:8px;">${cell(i)}</td>`);
  return (
    `<table width="100%" cellpadding="0" cellspacing="0" role="presentation" style="${SECTION}">` +
    `<tr><td style="padding:8px 16px;"><table width="100%" cellpadding="0" cellspacing="0" role="presentation" ` +
    `style="border-collapse:collapse;"><tr>${cells.join("")}</tr></table></td></tr></table>`
  );
}

const columnText = (i) => `<p style="${TEXT}margin:0;">${i + 1}列目の文章をここに入力します。</p>`;

/** Block id → [Japanese label, HTML]. The order is the order in the block panel. */
export function tokuiBlocks() {
  return [
    [
      "tokui-text",
      "テキスト",
      section(
        `<p style="${TEXT}margin:0 0 12px;">{{ company.name }}<br>{{ contact.name | default: "ご担当者" }} 様</p>` +
          `<p style="${TEXT}margin:0;">いつもご利用いただき、誠にありがとうございます。ここに本文を入力してください。</p>`,
      ),
    ],
    [
      "tokui-image",
      "画像",
      section(`<img src="" alt="画像の説明を入力してください" width="552" style="${IMAGE}margin:0 auto;">`, {
        align: "center",
      }),
    ],
    ["tokui-button", "ボタン", section(button("詳しくはこちら", "https://"), { align: "center" })],
    ["tokui-columns-2", "2列", columns(2, columnText)],
    ["tokui-columns-3", "3列", columns(3, columnText)],
    [
      "tokui-divider",
      "区切り線",
      section(
        '<table width="100%" cellpadding="0" cellspacing="0" role="presentation" style="border-collapse:collapse;">' +
          '<tr><td style="border-top:1px solid #dddddd;font-size:1px;line-height:1px;height:1px;">&nbsp;</td></tr></table>',
        { padding: "8px 24px" },
      ),
    ],
    [
      "tokui-product-grid",
      "商品（選んで掲載）",
      `<table width="100%" cellpadding="0" cellspacing="0" role="presentation" style="${SECTION}">` +
        `<tr><td style="padding:16px 16px 0;"><h2 style="${HEADING}">おすすめ商品</h2></td></tr>` +
        `<tr><td style="padding:8px;"><table width="100%" cellpadding="0" cellspacing="0" role="presentation">` +
        [0, 1]
          .map(
            () =>
              `<tr><td width="50%" valign="top" style="padding:8px;">${productCard()}</td>` +
              `<td width="50%" valign="top" style="padding:8px;">${productCard()}</td></tr>`,
          )
          .join("") +
        "</table></td></tr></table>",
    ],
    [
      "tokui-cart-items",
      "カートの商品",
      section(
        `<h2 style="${HEADING}">カートに商品が残っています</h2>` +
          `<p style="${TEXT}margin:8px 0 0;">{{ contact.name | default: "ご担当者" }} 様、お買い忘れはございませんか。</p>` +
          loop(
            "item in cart.items",
            "カートの商品",
            itemRow(
              "item",
              `<a href="{{ item.url }}" target="_blank" style="color:#222222;text-decoration:none;">{{ item.name }}</a><br>` +
                `<span style="${SMALL}">数量：{{ item.quantity }}</span><br>` +
                `<strong style="color:#d9480f;">{{ item.price | yen }}</strong>`,
            ),
          ) +
          button("カートに戻る", "{{ cart.url }}"),
      ),
    ],
    [
      "tokui-ranking",
      "ランキング",
      section(
        `<h2 style="${HEADING}">人気ランキング</h2>` +
          loop(
            "item in ranking",
            "ランキング",
            itemRow(
              "item",
              `<strong style="color:#d9480f;">{{ item.rank }}位</strong><br>` +
                `<a href="{{ item.url }}" target="_blank" style="color:#222222;text-decoration:none;">{{ item.name }}</a><br>` +
                `<strong>{{ item.price | yen }}</strong>`,
            ),
            { limit: 5 },
          ),
      ),
    ],
    [
      "tokui-recommendations",
      "おすすめ商品",
      section(
        `<h2 style="${HEADING}">{{ contact.name | default: "お客" }}様へのおすすめ</h2>` +
          loop(
            "item in recommendations",
            "おすすめ商品",
            itemRow(
              "item",
              `<a href="{{ item.url }}" target="_blank" style="color:#222222;text-decoration:none;">{{ item.name }}</a><br>` +
                `<strong style="color:#d9480f;">{{ item.price | yen }}</strong>`,
            ),
            { limit: 4 },
          ),
      ),
    ],
    [
      "tokui-last-order",
      "前回のご注文",
      condition(
        "last_order",
        "前回のご注文があるとき",
        section(
          `<h2 style="${HEADING}">前回のご注文</h2>` +
            `<p style="${SMALL}margin:4px 0 8px;">ご注文日：{{ last_order.ordered_at | date_ja }}</p>` +
            loop(
              "line in last_order.lines",
              "注文明細",
              '<table width="100%" cellpadding="0" cellspacing="0" role="presentation" ' +
                'style="border-collapse:collapse;border-bottom:1px solid #eeeeee;"><tr>' +
                `<td style="padding:8px 0;${TEXT}">{{ line.name }} × {{ line.quantity }}</td>` +
                `<td align="right" style="padding:8px 0;${TEXT}">{{ line.price | yen }}</td></tr></table>`,
            ) +
            `<p style="${TEXT}margin:8px 0;text-align:right;">合計 <strong>{{ last_order.total | yen }}</strong></p>` +
            button("同じ内容でもう一度注文する", "{{ last_order.reorder_url }}"),
        ),
      ),
    ],
    [
      "tokui-coupon",
      "クーポン",
      section(
        '<table width="100%" cellpadding="0" cellspacing="0" role="presentation" ' +
          'style="border-collapse:separate;border:2px dashed #d9480f;background-color:#fff8f3;">' +
          `<tr><td align="center" style="padding:16px;${TEXT}">` +
          `<p style="${TEXT}margin:0;">ご注文時に次のクーポンコードをご入力ください</p>` +
          `<p style="${FONT}font-size:26px;font-weight:bold;letter-spacing:2px;color:#d9480f;margin:8px 0;">` +
          "{{ coupon.code }}</p></td></tr></table>",
      ),
    ],
    [
      "tokui-points",
      "ポイント",
      section(
        `<p style="${TEXT}margin:0;">現在の保有ポイント：<strong>{{ points.balance }} pt</strong></p>` +
          `<p style="${TEXT}margin:4px 0 0;color:#c92a2a;">うち {{ points.expiring }} pt は ` +
          "{{ points.expires_on | date_ja }} に失効します。お早めにご利用ください。</p>",
      ),
    ],
    [
      "tokui-footer",
      "フッター（送信者・配信停止）",
      `<table width="100%" cellpadding="0" cellspacing="0" role="presentation" ` +
        `style="${COLUMN}background-color:#f8f9fa;">` +
        `<tr><td align="center" style="padding:24px;${SMALL}">` +
        `<p style="${SMALL}margin:0 0 8px;">このメールは {{ sender.company }} から、配信を希望された方にお送りしています。</p>` +
        `<p style="${SMALL}margin:0 0 8px;">{{ sender.company }}<br>{{ sender.address }}<br>` +
        `お問い合わせ：<a href="mailto:{{ sender.email }}" style="color:#555555;">{{ sender.email }}</a></p>` +
        `<p style="${SMALL}margin:0;"><a href="{{ unsubscribe_url }}" target="_blank" style="color:#555555;">配信停止</a>` +
        ` ｜ <a href="{{ preferences_url }}" target="_blank" style="color:#555555;">配信設定の変更</a></p>` +
        "</td></tr></table>",
    ],
  ];
}

/** Block definitions for GrapesJS's block manager. */
export function blockDefinitions() {
  return tokuiBlocks().map(([id, label, content]) => ({
    id,
    label,
    category: CATEGORY,
    content,
    select: true,
    activate: id === "tokui-image", // opens the image picker as soon as the block is dropped
    media: `<span class="tokui-block-icon">${label.slice(0, 1)}</span>`,
  }));
}

// The Japanese UI is complete: every GrapesJS string, the preset's buttons and options, the Tokui blocks and the
// style manager's properties have a Japanese text. No browser needed.
import assert from "node:assert/strict";
import { test } from "node:test";

import en from "grapesjs/locale/en.mjs";

import { tokuiBlocks } from "./blocks.js";
import ja, { presetTexts, richTextActions } from "./locale-ja.js";
import { styleSectors } from "./styles.js";

function leaves(obj, prefix = "") {
  return Object.entries(obj).flatMap(([key, value]) =>
    value && typeof value === "object" ? leaves(value, `${prefix}${key}.`) : [[`${prefix}${key}`, value]],
  );
}

function get(obj, path) {
  return path.split(".").reduce((o, key) => (o == null ? undefined : o[key]), obj);
}

// Texts that are the same in Japanese: brand, abbreviations, examples.
const SAME_IN_JAPANESE = new Set(["Tokui", "ID"]);
const isJapanese = (text) => /[\u3040-\u30ff\u3400-\u9fff]/.test(text) || SAME_IN_JAPANESE.has(text);

test("every key of GrapesJS's English locale has a Japanese text", () => {
  const missing = leaves(en).filter(([path]) => {
    const value = get(ja, path);
    return typeof value !== "string" || !value.trim();
  });
  assert.deepEqual(missing, []);
});

test("the Japanese texts are Japanese (not English left over)", () => {
  const english = leaves(ja).filter(
    ([path, text]) => !path.includes(".attributes.") && !path.startsWith("assetManager.inputPlh") && !isJapanese(String(text)),
  );
  assert.deepEqual(english, []);
});

test("the newsletter preset's panel buttons have Japanese titles", () => {
  const buttons = [
    "set-device-desktop",
    "set-device-tablet",
    "set-device-mobile",
    "sw-visibility",
    "preview",
    "fullscreen",
    "export-template",
    "gjs-open-import-template",
    "gjs-toggle-images",
    "undo",
    "redo",
    "canvas-clear",
    "open-sm",
    "open-tm",
    "open-layers",
    "open-blocks",
  ];
  for (const id of buttons) assert.ok(isJapanese(ja.panels.buttons.titles[id] || ""), id);
  for (const [key, text] of Object.entries(presetTexts)) assert.ok(isJapanese(text), key);
  for (const action of richTextActions) assert.ok(isJapanese(action.attributes.title), action.name);
});

test("every Tokui block and the Tokui category have a Japanese label", () => {
  for (const [id, label] of tokuiBlocks()) {
    assert.ok(isJapanese(label), id);
    assert.equal(ja.blockManager.labels[id], label);
  }
  assert.equal(ja.blockManager.categories.tokui, "Tokui");
});

test("every sector, property and option of the style manager has a Japanese label", () => {
  const { sectors, properties, options } = ja.styleManager;
  for (const sector of styleSectors) {
    assert.ok(isJapanese(sectors[sector.id] || ""), sector.id);
    const props = [...(sector.buildProps || []), ...(sector.properties || [])];
    for (const prop of props) {
      const id = typeof prop === "string" ? prop : prop.property;
      assert.ok(isJapanese(properties[id] || ""), id);
      for (const option of (typeof prop === "object" && prop.options) || []) {
        const label = option.label || options[id]?.[option.id];
        assert.ok(isJapanese(label || ""), `${id}: ${option.id}`);
      }
    }
  }
  // Background colour and image: what a marketer changes most.
  assert.equal(properties["background-color"], "背景色");
  assert.ok(isJapanese(properties["background-image"]));
  assert.ok(isJapanese(options["border-style-sub"].solid));
});

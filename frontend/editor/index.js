// The mail editor bundle (tokui/editor/editor.js): mounts GrapesJS with the newsletter preset, in Japanese, with the
// Tokui blocks, on every [data-mail-editor] element, and writes html / css / project into its form on submit.
import grapesjs from "grapesjs";
import newsletter from "grapesjs-preset-newsletter";
import "grapesjs/dist/css/grapes.min.css";
import "./editor.css";
import { STARTER_CSS, blockDefinitions, tokuiBlocks } from "./blocks.js";
import { CANVAS_CSS, registerComponents } from "./components.js";
import { csrfToken, exportMail, fillForm, initialContent } from "./form.js";
import { liquidToWrappers, misplacedLiquid } from "./liquid.js";
import ja, { presetTexts, richTextActions } from "./locale-ja.js";
import { styleSectors } from "./styles.js";

const MISPLACED =
  "この HTML には、表の行と行の間に Liquid の繰り返しや条件（{% for %} など）があります。ビジュアルエディタで開くと" +
  "その位置がずれてメールが壊れるため、HTML のまま編集してください。繰り返しを表のセルの中に入れると、ビジュアルエディタで開けます。";
const UPLOAD_FAILED = "画像をアップロードできませんでした。ファイルの形式（JPEG・PNG・GIF）と大きさを確かめて、もう一度お試しください。";

function starterHtml() {
  const blocks = Object.fromEntries(tokuiBlocks().map(([id, , html]) => [id, html]));
  return `<style>${STARTER_CSS}</style>${blocks["tokui-text"]}${blocks["tokui-footer"]}`;
}

function tokuiPlugin(editor) {
  registerComponents(editor);
  for (const block of blockDefinitions()) editor.Blocks.add(block.id, block);
}

// HTML the visual editor cannot load without moving its Liquid: edit it as code instead, never lose it.
function mountCodeFallback(el, form, html) {
  const note = document.createElement("p");
  note.className = "tokui-editor-warning";
  note.textContent = MISPLACED;
  const code = document.createElement("textarea");
  code.className = "tokui-editor-code";
  code.name = "html";
  code.value = html;
  code.spellcheck = false;
  const hidden = form?.elements.namedItem("html");
  if (hidden && hidden !== code) hidden.removeAttribute("name"); // the textarea is the html field now
  el.replaceChildren(note, code);
  return null;
}

export function mountMailEditor(el) {
  const form = el.closest("form");
  const field = (name) => (form ? form.elements.namedItem(name) : null);
  const initial = initialContent(
    field("project")?.value,
    field("html_initial")?.value,
    starterHtml(),
    field("css")?.value,
  );
  if (initial.components && misplacedLiquid(initial.components).length) {
    return mountCodeFallback(el, form, initial.components);
  }
  if (initial.components) initial.components = liquidToWrappers(initial.components);

  const editor = grapesjs.init({
    container: el,
    height: el.dataset.height || "760px",
    width: "auto",
    storageManager: false,
    cssIcons: "", // GrapesJS would load Font Awesome from a CDN: nothing outside Tokui is loaded
    telemetry: false, // and would report usage to grapesjs.com
    ...initial,
    i18n: { locale: "ja", localeFallback: "ja", detectLocale: false, messages: { ja } },
    // Styles go to the selected element, not to every element sharing its class.
    selectorManager: { componentFirst: true },
    styleManager: { sectors: styleSectors },
    richTextEditor: { actions: richTextActions },
    assetManager: {
      upload: el.dataset.uploadUrl || "",
      uploadName: "files",
      multiUploadSuffix: "",
      embedAsBase64: false,
      // Django's csrftoken cookie; the form's own token when the cookie cannot be read (CSRF_COOKIE_HTTPONLY).
      headers: { "X-CSRFToken": csrfToken(document.cookie) || field("csrfmiddlewaretoken")?.value || "" },
      credentials: "same-origin",
    },
    canvasCss: CANVAS_CSS,
    plugins: [
      (ed) =>
        newsletter(ed, {
          ...presetTexts,
          blocks: [], // the Tokui blocks replace the preset's (English texts, external placeholder images)
          updateStyleManager: false, // styles.js has the same sectors with Japanese labels
          inlineCss: true,
          codeViewerTheme: "hopscotch",
        }),
      tokuiPlugin,
    ],
  });

  editor.on("asset:upload:error", () => window.alert(UPLOAD_FAILED));
  // HTML pasted into the code import: warn before the browser moves Liquid out of a table; simple loops become
  // the editor's loop frames again.
  editor.on("parse:html:before", (options) => {
    if (typeof options.input !== "string" || !options.input.includes("{%")) return;
    if (misplacedLiquid(options.input).length) window.alert(MISPLACED);
    else options.input = liquidToWrappers(options.input);
  });

  if (form) {
    // The editor sits inside the template form: Enter in one of its fields (a colour, a link, the number of
    // items) must set that value, not submit the form.
    el.addEventListener("keydown", (event) => {
      const target = event.target;
      if (event.key === "Enter" && target instanceof HTMLInputElement) {
        event.preventDefault();
        target.dispatchEvent(new Event("change", { bubbles: true }));
      }
    });
    // Capture phase: the fields are filled before any other submit handler (htmx) reads the form.
    let filled = false;
    form.addEventListener(
      "submit",
      async (event) => {
        // GrapesJS's own small forms (the image address field) live inside the editor: theirs, not ours.
        if (event.target !== form) return;
        // A GrapesJS button left with the default type="submit" never saves the template.
        if (event.submitter && el.contains(event.submitter)) {
          event.preventDefault();
          event.stopImmediatePropagation();
          return;
        }
        if (filled) {
          filled = false; // this is the re-submit below, with the fields already filled
          return;
        }
        // Text being typed in the rich text editor reaches the model only once editing stops (asynchronously):
        // hold the submit, stop editing, fill the fields, then submit again.
        const editing = editor.getEditing();
        if (editing) {
          event.preventDefault();
          event.stopImmediatePropagation();
          await editing.getView()?.disableEditing?.();
          fillForm(form, exportMail(editor));
          filled = true;
          form.requestSubmit(event.submitter || undefined);
          return;
        }
        fillForm(form, exportMail(editor));
      },
      true,
    );
    // Scripts that read the form without submitting it (new FormData(form)) get the current mail too.
    form.addEventListener("formdata", (event) => {
      const mail = exportMail(editor);
      for (const name of ["html", "css", "project"]) {
        if (event.formData.has(name)) event.formData.set(name, mail[name]);
      }
    });
  }
  el.tokuiEditor = editor; // for browser tests and the template page's own scripts
  return editor;
}

function mountAll() {
  document.querySelectorAll("[data-mail-editor]").forEach((el) => {
    if (!el.dataset.mailEditorMounted) {
      el.dataset.mailEditorMounted = "1";
      mountMailEditor(el);
    }
  });
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mountAll);
else mountAll();

// Reading the mail out of the editor and into the template form. Pure functions over a GrapesJS-like editor
// object (getHtml, getCss, getProjectData) and the form's named fields, so they are tested without a browser.
import { restoreLiquid } from "./liquid.js";

/** The inner HTML of a "<body …>…</body>" export (GrapesJS writes the wrapper as <body>). */
export function bodyInner(html) {
  const match = /^\s*<body\b[^>]*>([\s\S]*)<\/body>\s*$/i.exec(html);
  return match ? match[1] : html;
}

/**
 * GrapesJS writes its grey "no image yet" SVG as a data: URI into an image without an address (only after a
 * reload from the project). Mail clients block data: images, so such an image is written with an empty src,
 * which the sending checklist reports.
 */
export function withoutPlaceholderImages(html) {
  return html.replace(/\ssrc="data:image\/svg\+xml;base64,[A-Za-z0-9+/=]*"/g, ' src=""');
}

/**
 * Styles the marketer gave the whole mail are written by GrapesJS for the wrapper's id (#i8hl), but the exported
 * HTML has no wrapper element: they are rewritten for body, where the mail's own <body> picks them up.
 */
export function wrapperCssToBody(css, wrapperId) {
  if (!wrapperId) return css;
  const escaped = wrapperId.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return css.replace(new RegExp(`#${escaped}(?![\\w-])`, "g"), "body");
}

/** { html, css, project } of the mail in the editor: the body HTML with its Liquid exactly as written. */
export function exportMail(editor) {
  // altQuoteAttr: an attribute holding a double quote (href="{{ x | append: "?a" }}") is written with single quotes
  // instead of &quot;, so the Liquid inside it survives.
  const html = withoutPlaceholderImages(restoreLiquid(bodyInner(editor.getHtml({ altQuoteAttr: true }))));
  // avoidProtected: GrapesJS's "* { box-sizing }" would be inlined into every element of the mail.
  const wrapperId = editor.getWrapper ? editor.getWrapper()?.getId() : "";
  const css = wrapperCssToBody(editor.getCss({ avoidProtected: true }) || "", wrapperId);
  const project = JSON.stringify(editor.getProjectData());
  return { html, css, project };
}

/** Put the mail into the form's hidden html, css and project fields. */
export function fillForm(form, mail) {
  for (const name of ["html", "css", "project"]) {
    const field = form.elements.namedItem ? form.elements.namedItem(name) : form.elements[name];
    if (field) field.value = mail[name];
  }
}

/**
 * What to load: the saved project when there is one (and it parses), else the saved HTML (with the saved CSS, when
 * the page put it into the css field), else the starter.
 */
export function initialContent(projectText, htmlText, starterHtml, cssText = "") {
  const project = (projectText || "").trim();
  if (project) {
    try {
      const data = JSON.parse(project);
      if (data && typeof data === "object" && Array.isArray(data.pages)) return { projectData: data };
    } catch {
      // A broken project must not lose the mail: fall back to the saved HTML below.
    }
  }
  const html = (htmlText || "").trim();
  if (!html) return { components: starterHtml };
  const css = (cssText || "").trim();
  return { components: css ? `<style>${css}</style>${html}` : html };
}

/** The csrftoken cookie's value ("" when there is none). */
export function csrfToken(cookieString) {
  for (const part of (cookieString || "").split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === "csrftoken") return decodeURIComponent(rest.join("="));
  }
  return "";
}

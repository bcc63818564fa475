// The UI shell's behaviour: htmx for partial page updates, and small helpers wired by data- attributes
// (no inline scripts, so the Content-Security-Policy can forbid them).
import htmx from "htmx.org";
import { initCharts } from "./charts.js";
import "./segment_builder.js";

window.htmx = htmx;
// htmx would inject an inline <style> for its indicators; the CSP forbids that, our CSS has the rules instead.
htmx.config.includeIndicatorStyles = false;
htmx.config.allowEval = false;

function init(root) {
  root.querySelectorAll("[data-autosubmit]").forEach((el) => {
    if (el.dataset.bound) return;
    el.dataset.bound = "1";
    el.addEventListener("change", () => el.form && el.form.requestSubmit());
  });
  // <form data-confirm="question">: asks before submitting (a destructive action such as a new write key).
  root.querySelectorAll("form[data-confirm]").forEach((form) => {
    if (form.dataset.bound) return;
    form.dataset.bound = "1";
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
  // <button data-copy-target="id" data-copied="label">: copies the element's text (a snippet) to the clipboard.
  root.querySelectorAll("[data-copy-target]").forEach((button) => {
    if (button.dataset.bound) return;
    button.dataset.bound = "1";
    button.addEventListener("click", async () => {
      const source = document.getElementById(button.dataset.copyTarget);
      if (!source) return;
      const text = "value" in source ? source.value : source.textContent;
      try {
        await navigator.clipboard.writeText(text);
      } catch {
        source.select?.();
        document.execCommand("copy");
      }
      const label = button.textContent;
      button.textContent = button.dataset.copied || label;
      setTimeout(() => (button.textContent = label), 1500);
    });
  });
  initCharts(root);
}

document.addEventListener("DOMContentLoaded", () => init(document));
document.body?.addEventListener?.("htmx:afterSwap", (event) => init(event.target));
document.addEventListener("htmx:afterSwap", (event) => init(event.target));

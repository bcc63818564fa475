// The UI shell's behaviour: htmx for partial page updates, and small helpers wired by data- attributes
// (no inline scripts, so the Content-Security-Policy can forbid them).
import htmx from "htmx.org";
import { initCharts } from "./charts.js";

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
  initCharts(root);
}

document.addEventListener("DOMContentLoaded", () => init(document));
document.body?.addEventListener?.("htmx:afterSwap", (event) => init(event.target));
document.addEventListener("htmx:afterSwap", (event) => init(event.target));

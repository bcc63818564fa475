// Progress bars of the import screens. The page's content security policy forbids inline style attributes, so
// the width is read from data-progress and set from this script, on load and after every htmx swap (polling).
(function () {
  function sizeBars() {
    document.querySelectorAll("[data-progress]").forEach(function (bar) {
      var percent = Math.max(0, Math.min(100, Number(bar.getAttribute("data-progress")) || 0));
      bar.style.width = percent + "%";
    });
  }
  document.addEventListener("DOMContentLoaded", sizeBars);
  document.addEventListener("htmx:afterSettle", sizeBars);
})();

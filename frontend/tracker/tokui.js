// tokui.js: the Tokui tracking tag. A shop loads it with one tag:
//   <script async src="https://crm.example.jp/static/tokui/tracker/tokui.js" data-key="tk_..."></script>
// and calls window.tokui("track" | "identify" | "consent" | "page" | "reset" | "flush", ...). See docs/tracking.md.
import { createTracker } from "./core.js";

(function () {
  const w = window;
  const d = document;
  if (w.tokui && w.tokui.loaded) return;

  const script = d.currentScript || d.querySelector("script[data-key][src*='tokui']");
  const data = (script && script.dataset) || {};
  if (!data.key) {
    if (w.console) w.console.warn("tokui.js: data-key (the site's write key) is missing; nothing is sent");
    return;
  }
  const endpoint = data.endpoint || new URL("/t/v1/batch", script.src).href;
  const url = endpoint + (endpoint.indexOf("?") < 0 ? "?" : "&") + "key=" + encodeURIComponent(data.key);
  const TWO_YEARS = 63072000;
  const secure = w.location.protocol === "https:" ? ";Secure" : "";

  // The browser's id lives in a first-party cookie (the shop's own domain) mirrored in localStorage.
  const storage = {
    get(name) {
      const match = d.cookie.match(new RegExp("(?:^|; )_tokui_" + name + "=([^;]*)"));
      if (match) return decodeURIComponent(match[1]);
      try {
        return w.localStorage.getItem("tokui_" + name);
      } catch (e) {
        return null;
      }
    },
    set(name, value) {
      d.cookie = "_tokui_" + name + "=" + encodeURIComponent(value) + ";path=/;max-age=" + TWO_YEARS + ";SameSite=Lax" + secure;
      try {
        w.localStorage.setItem("tokui_" + name, value);
      } catch (e) {
        /* private mode: the cookie is enough */
      }
    },
    remove(name) {
      d.cookie = "_tokui_" + name + "=;path=/;max-age=0";
      try {
        w.localStorage.removeItem("tokui_" + name);
      } catch (e) {
        /* nothing stored */
      }
    },
  };

  function newId() {
    if (w.crypto && w.crypto.randomUUID) return w.crypto.randomUUID();
    const bytes = new Uint8Array(16);
    w.crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => (b + 256).toString(16).slice(1)).join("");
  }

  // text/plain keeps the request "simple": no CORS preflight before each batch.
  const TEXT = "text/plain;charset=UTF-8";

  function showConsentBanners(state) {
    d.querySelectorAll("[data-tokui-consent-banner]").forEach((element) => {
      element.hidden = state !== "unknown";
    });
  }

  const tracker = createTracker({
    endpoint,
    requireConsent: "requireConsent" in data && data.requireConsent !== "false",
    flushMs: Number(data.flushMs) || 3000,
    flushAt: Number(data.flushAt) || 20,
    storage,
    newId,
    now: () => Date.now(),
    random: Math.random,
    setTimer: (fn, ms) => w.setTimeout(fn, ms),
    clearTimer: (handle) => w.clearTimeout(handle),
    send: (body) =>
      w
        .fetch(url, {
          method: "POST",
          body,
          headers: { "Content-Type": TEXT },
          keepalive: body.length < 60000,
          credentials: "omit",
          mode: "cors",
        })
        .then(
          (response) => ({ status: response.status, retryAfter: response.headers.get("Retry-After") }),
          () => ({ status: 0 }),
        ),
    beacon: (body) => !!(w.navigator.sendBeacon && w.navigator.sendBeacon(url, new Blob([body], { type: TEXT }))),
    onConsent: showConsentBanners,
  });

  function run(args) {
    try {
      return tracker.command(...args);
    } catch (error) {
      if (w.console) w.console.warn("tokui.js:", error);
    }
  }

  const queued = (w.tokui && w.tokui.q) || [];
  const api = function () {
    return run(Array.prototype.slice.call(arguments));
  };
  api.loaded = true;
  api.anonymousId = tracker.anonymousId;
  w.tokui = api;

  if (data.autoPageView !== "false") {
    run(["page", { url: w.location.href, title: d.title, referrer: d.referrer }]);
  }
  queued.forEach((args) => run(Array.prototype.slice.call(args)));
  // Commands written into the page as data (works under a strict Content-Security-Policy):
  //   <script type="application/json" data-tokui>[["track", "product_viewed", {"sku": "A-1"}]]</script>
  // (or id="tokui-commands", what Django's json_script filter writes).
  const JSON_SCRIPT = 'script[type="application/json"]';
  d.querySelectorAll(JSON_SCRIPT + "[data-tokui]," + JSON_SCRIPT + "#tokui-commands").forEach((element) => {
    try {
      JSON.parse(element.textContent || "[]").forEach(run);
    } catch (error) {
      if (w.console) w.console.warn("tokui.js: unreadable commands in", element, error);
    }
  });
  // Consent buttons without any script of the shop's own: <button data-tokui-consent="true">同意する</button>
  d.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target.closest("[data-tokui-consent]") : null;
    if (target) run(["consent", target.getAttribute("data-tokui-consent") === "true"]);
  });
  showConsentBanners(
    tracker.consentState() === "unknown" && "requireConsent" in data && data.requireConsent !== "false"
      ? "unknown"
      : "decided",
  );

  w.addEventListener("pagehide", () => tracker.unload());
  d.addEventListener("visibilitychange", () => {
    if (d.visibilityState === "hidden") tracker.unload();
  });
})();

// The logic of the Tokui tag, free of browser globals so that `node --test` can run it.
// The browser wiring (cookies, fetch, sendBeacon, page events) is in tokui.js.

export const MAX_BATCH = 50; // events per request: sendBeacon refuses bodies over 64 KB
export const HOLD_LIMIT = 100; // events kept in memory while the visitor has not answered the consent question
export const MAX_ATTEMPTS = 8;

const IDENTIFY_TYPES = ["logged_in", "signed_up"];

/**
 * env: {
 *   endpoint, requireConsent, flushMs, flushAt,
 *   storage: {get(name), set(name, value), remove(name)},   // first-party cookie + localStorage
 *   send(body) -> Promise<{status, retryAfter}>,             // status 0 = network error
 *   beacon(body) -> boolean,
 *   now() -> ms, newId() -> string, setTimer(fn, ms) -> handle, clearTimer(handle), random() -> [0, 1)
 *   onConsent(state)                                          // "granted" | "denied" | "unknown"
 * }
 */
export function createTracker(env) {
  let consent = env.storage.get("consent") || "unknown";
  let held = []; // events waiting for consent (never stored, never sent before it)
  let queue = []; // events ready to send
  let sending = false;
  let attempt = 0;
  let timer = null;

  const allowed = () => consent === "granted" || (!env.requireConsent && consent !== "denied");

  function anonymousId() {
    let id = env.storage.get("aid");
    if (!id) {
      id = env.newId();
      env.storage.set("aid", id);
    }
    return id;
  }

  function schedule(ms) {
    if (timer !== null) return;
    timer = env.setTimer(() => {
      timer = null;
      flush();
    }, ms);
  }

  function track(type, properties) {
    if (consent === "denied" || typeof type !== "string" || !type) return;
    const event = {
      id: env.newId(),
      type,
      occurred_at: new Date(env.now()).toISOString(),
      properties: properties && typeof properties === "object" ? properties : {},
    };
    if (!allowed()) {
      if (held.length < HOLD_LIMIT) held.push(event);
      return;
    }
    queue.push(event);
    if (queue.length >= env.flushAt) flush();
    else schedule(env.flushMs);
  }

  function body(events) {
    return JSON.stringify({
      anonymous_id: anonymousId(),
      sent_at: new Date(env.now()).toISOString(),
      consent: consent === "granted",
      // A hint that this browser has logged in before, so the endpoint looks its contact up (it never trusts it).
      identified: env.storage.get("idf") === "1",
      events,
    });
  }

  function flush() {
    if (sending || !queue.length || !allowed()) return;
    if (timer !== null) {
      env.clearTimer(timer);
      timer = null;
    }
    const batch = queue.slice(0, MAX_BATCH);
    queue = queue.slice(batch.length);
    sending = true;
    return env.send(body(batch)).then((answer) => {
      sending = false;
      const status = answer.status;
      if (status === 0 || status === 429 || status >= 500) {
        // Try again later with the same event ids: the endpoint stores each event once.
        attempt += 1;
        if (attempt <= MAX_ATTEMPTS) queue = batch.concat(queue);
        else attempt = 0; // give this batch up, start afresh with the next
        const waitMs = Number(answer.retryAfter) * 1000 || Math.min(60000, 1000 * 2 ** attempt);
        schedule(waitMs * (0.75 + env.random() / 2));
        return;
      }
      attempt = 0; // sent, or refused for good (a 4xx other than 429: retrying would not help)
      if (queue.length >= env.flushAt) flush();
      else if (queue.length) schedule(env.flushMs);
    });
  }

  // The page is going away: hand everything still waiting to sendBeacon, which outlives the page.
  function unload() {
    if (!allowed()) return;
    while (queue.length) {
      const batch = queue.slice(0, MAX_BATCH);
      if (!env.beacon(body(batch))) break;
      queue = queue.slice(batch.length);
    }
    if (queue.length) flush();
  }

  function setConsent(granted) {
    consent = granted ? "granted" : "denied";
    env.storage.set("consent", consent);
    if (granted) {
      queue = queue.concat(held);
      held = [];
      flush();
    } else {
      held = [];
      queue = [];
      env.storage.remove("aid"); // opting out forgets the browser's id too
      env.storage.remove("idf");
    }
    if (env.onConsent) env.onConsent(consent);
  }

  const commands = {
    track,
    page(properties) {
      track("page_viewed", properties);
    },
    identify(traits, type) {
      track(IDENTIFY_TYPES.includes(type) ? type : "logged_in", traits);
      if (allowed()) env.storage.set("idf", "1");
    },
    consent: setConsent,
    reset() {
      env.storage.remove("aid");
      env.storage.remove("idf");
    },
    flush,
  };

  return {
    command(name, ...args) {
      const run = commands[name];
      if (run) return run(...args);
    },
    unload,
    consentState: () => consent,
    pending: () => ({ held: held.length, queued: queue.length }),
    anonymousId: () => (allowed() ? anonymousId() : null),
  };
}

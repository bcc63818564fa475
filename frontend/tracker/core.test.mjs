// Unit tests of the tag's logic: `npm test` (node --test), no browser needed.
import assert from "node:assert/strict";
import { test } from "node:test";

import { createTracker, MAX_BATCH } from "./core.js";

function fakeEnv(overrides = {}) {
  const stored = new Map();
  const timers = [];
  const sent = [];
  const beacons = [];
  let counter = 0;
  const env = {
    endpoint: "https://crm.example.jp/t/v1/batch",
    requireConsent: false,
    flushMs: 3000,
    flushAt: 20,
    storage: {
      get: (name) => stored.get(name) ?? null,
      set: (name, value) => stored.set(name, value),
      remove: (name) => stored.delete(name),
    },
    answers: [],
    send(body) {
      sent.push(JSON.parse(body));
      return Promise.resolve(env.answers.shift() || { status: 200 });
    },
    beacon(body) {
      beacons.push(JSON.parse(body));
      return true;
    },
    now: () => Date.parse("2026-04-01T10:00:00Z"),
    newId: () => `id-${String(++counter).padStart(6, "0")}`,
    random: () => 0.5,
    setTimer(fn, ms) {
      timers.push({ fn, ms });
      return timers.length;
    },
    clearTimer() {},
    ...overrides,
  };
  const runTimers = async () => {
    while (timers.length) {
      timers.shift().fn();
      await Promise.resolve();
      await Promise.resolve();
    }
  };
  return { env, stored, timers, sent, beacons, runTimers };
}

test("events wait for the timer and go out as one batch with the browser's anonymous id", async () => {
  const { env, sent, timers, runTimers } = fakeEnv();
  const tracker = createTracker(env);
  tracker.command("track", "page_viewed", { url: "https://shop.example.jp/" });
  tracker.command("track", "product_viewed", { sku: "TS-001" });
  assert.equal(sent.length, 0);
  assert.equal(timers[0].ms, 3000);
  await runTimers();
  assert.equal(sent.length, 1);
  assert.deepEqual(
    sent[0].events.map((event) => event.type),
    ["page_viewed", "product_viewed"],
  );
  assert.match(sent[0].anonymous_id, /^id-/);
  assert.equal(sent[0].events[0].occurred_at, "2026-04-01T10:00:00.000Z");
  assert.notEqual(sent[0].events[0].id, sent[0].events[1].id);
});

test("a full batch is sent at once", () => {
  const { env, sent } = fakeEnv({ flushAt: 3 });
  const tracker = createTracker(env);
  for (let n = 0; n < 3; n++) tracker.command("track", "page_viewed", {});
  assert.equal(sent.length, 1);
  assert.equal(sent[0].events.length, 3);
});

test("nothing is sent or stored before consent when the shop requires it", async () => {
  const { env, sent, stored, runTimers } = fakeEnv({ requireConsent: true });
  const tracker = createTracker(env);
  tracker.command("track", "page_viewed", {});
  await runTimers();
  assert.equal(sent.length, 0);
  assert.equal(stored.has("aid"), false);
  assert.equal(tracker.anonymousId(), null);

  tracker.command("consent", true);
  await runTimers();
  assert.equal(sent.length, 1);
  assert.equal(sent[0].consent, true);
  assert.equal(stored.get("consent"), "granted");
});

test("declining consent drops what was waiting and forgets the browser's id", async () => {
  const { env, sent, stored, runTimers } = fakeEnv();
  const tracker = createTracker(env);
  tracker.command("track", "page_viewed", {});
  assert.ok(tracker.anonymousId());
  tracker.command("consent", false);
  tracker.command("track", "product_viewed", {});
  await runTimers();
  assert.equal(sent.length, 0);
  assert.equal(stored.has("aid"), false);
  assert.equal(stored.get("consent"), "denied");
});

test("a failed batch is retried later with the same event ids; a refused one is not", async () => {
  const { env, sent, timers, runTimers } = fakeEnv();
  env.answers.push({ status: 503 }, { status: 0 });
  const tracker = createTracker(env);
  tracker.command("track", "page_viewed", {});
  await runTimers();
  assert.equal(sent.length, 3);
  assert.deepEqual(sent[1].events, sent[0].events);
  assert.deepEqual(sent[2].events, sent[0].events);

  env.answers.push({ status: 400 });
  tracker.command("track", "searched", { query: "リネン" });
  await runTimers();
  assert.equal(sent.length, 4);
  assert.equal(timers.length, 0);
});

test("a 429 waits as long as Retry-After says", async () => {
  const { env, timers } = fakeEnv({ flushAt: 1 });
  env.answers.push({ status: 429, retryAfter: "12" });
  const tracker = createTracker(env);
  tracker.command("track", "page_viewed", {});
  await Promise.resolve();
  await Promise.resolve();
  assert.equal(timers.at(-1).ms, 12000);
});

test("leaving the page hands the queue to sendBeacon in batches of at most MAX_BATCH", () => {
  const { env, sent, beacons } = fakeEnv({ flushAt: 1000 });
  const tracker = createTracker(env);
  for (let n = 0; n < MAX_BATCH + 5; n++) tracker.command("track", "page_viewed", {});
  tracker.unload();
  assert.equal(sent.length, 0);
  assert.deepEqual(
    beacons.map((batch) => batch.events.length),
    [MAX_BATCH, 5],
  );
});

test("identify sends a login with the customer's id, or a sign-up when asked", async () => {
  const { env, sent, runTimers } = fakeEnv();
  const tracker = createTracker(env);
  tracker.command("identify", { email: "buyer@example.jp" });
  tracker.command("identify", { contact_external_id: "C-1" }, "signed_up");
  await runTimers();
  assert.deepEqual(
    sent[0].events.map((event) => [event.type, event.properties]),
    [
      ["logged_in", { email: "buyer@example.jp" }],
      ["signed_up", { contact_external_id: "C-1" }],
    ],
  );
});

test("reset gives the browser a new anonymous id (a logout on a shared PC)", () => {
  const { env } = fakeEnv();
  const tracker = createTracker(env);
  const first = tracker.anonymousId();
  tracker.command("reset");
  assert.notEqual(tracker.anonymousId(), first);
});

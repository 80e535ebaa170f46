import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TurnRestSource, WAIT_AFTER_FAILURE_MS, type Fetch } from "./rest-source.js";

const T0 = 1_800_000_000_000;

/** A scripted TURN REST service: answers from `reply`, records every URL. */
function service(reply: (n: number) => unknown) {
  const urls: string[] = [];
  const fetch: Fetch = async (url) => {
    urls.push(url);
    const r = reply(urls.length);
    if (r instanceof Error) throw r;
    if (typeof r === "number") return { ok: false, status: r, json: async () => ({}) };
    return { ok: true, status: 200, json: async () => r };
  };
  return { urls, fetch };
}

const answer = (n: number, ttl = 600) => ({ username: `${n}:alice`, password: `p${n}`, ttl, uris: ["turn:127.0.0.1:3478?transport=udp"] });

describe("TurnRestSource", () => {
  test("asks with service, username and key, and maps the answer to an iceServer", async () => {
    const s = service((n) => answer(n));
    const src = new TurnRestSource({ url: "http://127.0.0.1:1/turn?x=1", key: "k&y", fetch: s.fetch, now: () => T0 });
    assert.deepEqual(await src.servers("alice"), [{ urls: ["turn:127.0.0.1:3478?transport=udp"], username: "1:alice", credential: "p1" }]);
    const q = new URL(s.urls[0]).searchParams;
    assert.deepEqual([q.get("x"), q.get("service"), q.get("username"), q.get("key")], ["1", "turn", "alice", "k&y"]);
    assert.equal(src.remainingSeconds("alice"), 600);
  });

  test("caches, refreshes in the background past half the ttl, and never serves expired credentials", async () => {
    let now = T0;
    const s = service((n) => (n === 1 ? answer(1) : new Error("connection refused")));
    const errors: string[] = [];
    const src = new TurnRestSource({ url: "http://127.0.0.1:1/", key: "k", fetch: s.fetch, now: () => now, onError: (m) => errors.push(m) });
    assert.equal((await src.servers("alice"))[0].username, "1:alice");
    now += 200_000;
    assert.equal((await src.servers("alice"))[0].username, "1:alice");
    assert.equal(s.urls.length, 1, "young credentials come from the cache");
    now += 200_000; // 400 s of 600: past half
    assert.equal((await src.servers("alice"))[0].username, "1:alice", "still valid: served while refreshing");
    await new Promise((r) => setImmediate(r));
    assert.equal(s.urls.length, 2, "a background refresh ran");
    assert.match(errors[0], /TURN REST http:\/\/127\.0\.0\.1:1\/: connection refused/);
    assert.ok(!errors[0].includes("key="), "the key never reaches a message");
    now += 300_000; // expired
    assert.deepEqual(await src.servers("alice"), [], "expired credentials are dropped when the service is down");
  });

  test("a failing or malformed service gives no servers and an error, and recovers", async () => {
    const s = service((n) => (n === 1 ? 503 : n === 2 ? { username: "u" } : answer(n)));
    const errors: string[] = [];
    let now = T0;
    const src = new TurnRestSource({ url: "http://127.0.0.1:1/", key: "k", fetch: s.fetch, now: () => now, onError: (m) => errors.push(m) });
    assert.deepEqual(await src.servers("bob"), []);
    now += WAIT_AFTER_FAILURE_MS;
    assert.deepEqual(await src.servers("bob"), []);
    now += WAIT_AFTER_FAILURE_MS;
    assert.match(errors[0], /HTTP 503/);
    assert.match(errors[1], /unexpected answer: password/);
    assert.equal((await src.servers("bob"))[0].credential, "p3");
  });

  test("after a failure nobody waits for the service until WAIT_AFTER_FAILURE_MS has passed; then one request tries it again", async () => {
    let now = T0;
    let hang = true;
    const asked: string[] = [];
    // A service that never answers: the request ends only by its own timeout.
    const fetch: Fetch = (url, init) => {
      asked.push(url);
      if (!hang) return Promise.resolve({ ok: true, status: 200, json: async () => answer(asked.length) });
      return new Promise((_, reject) => {
        // AbortSignal.timeout's timer does not hold the event loop open; this one does, until the abort.
        const open = setTimeout(() => {}, 5000);
        init.signal.addEventListener("abort", () => {
          clearTimeout(open);
          reject(new Error("timed out"));
        });
      });
    };
    const src = new TurnRestSource({ url: "http://127.0.0.1:1/", key: "k", fetch, now: () => now, timeoutMs: 50 });
    const t0 = performance.now();
    assert.deepEqual(await src.servers("dave"), []);
    assert.ok(performance.now() - t0 >= 40, "the first request waited for the timeout");
    const t1 = performance.now();
    for (const account of ["dave", "erin", "frank"]) assert.deepEqual(await src.servers(account), []);
    assert.ok(performance.now() - t1 < 40, "later ones answered at once");
    assert.equal(asked.length, 1, "and asked nothing of the service");
    hang = false;
    now += WAIT_AFTER_FAILURE_MS;
    assert.equal((await src.servers("erin"))[0].username, "2:alice", "tried again once the wait is over");
    assert.equal((await src.servers("frank"))[0].username, "3:alice", "and waited on again once it answers");
  });

  test("concurrent requests for one account share one fetch", async () => {
    const s = service((n) => answer(n));
    const src = new TurnRestSource({ url: "http://127.0.0.1:1/", key: "k", fetch: s.fetch, now: () => T0 });
    const [a, b] = await Promise.all([src.servers("carol"), src.servers("carol")]);
    assert.deepEqual(a, b);
    assert.equal(s.urls.length, 1);
  });
});

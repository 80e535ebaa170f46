import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TurnRestSource, type Fetch } from "./rest-source.js";

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
    const src = new TurnRestSource({ url: "http://127.0.0.1:1/", key: "k", fetch: s.fetch, now: () => T0, onError: (m) => errors.push(m) });
    assert.deepEqual(await src.servers("bob"), []);
    assert.deepEqual(await src.servers("bob"), []);
    assert.match(errors[0], /HTTP 503/);
    assert.match(errors[1], /unexpected answer: password/);
    assert.equal((await src.servers("bob"))[0].credential, "p3");
  });

  test("concurrent requests for one account share one fetch", async () => {
    const s = service((n) => answer(n));
    const src = new TurnRestSource({ url: "http://127.0.0.1:1/", key: "k", fetch: s.fetch, now: () => T0 });
    const [a, b] = await Promise.all([src.servers("carol"), src.servers("carol")]);
    assert.deepEqual(a, b);
    assert.equal(s.urls.length, 1);
  });
});

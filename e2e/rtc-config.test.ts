/** Unit tests of web/src/rtc-config.ts (see e2e/coords.test.ts for why they live in e2e/). */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { RtcConfigSource } from "../web/src/rtc-config.js";

describe("RtcConfigSource", () => {
  test("uses the welcome's servers until half their ttl, then fetches /api/rtc-config", async () => {
    let now = 0;
    const asked: string[] = [];
    let serve: unknown = { iceServers: [{ urls: "turn:t?transport=udp", username: "2:a", credential: "c2" }], ttl: 100 };
    const src = new RtcConfigSource(
      true,
      () => now,
      async (url) => {
        asked.push(url);
        return serve instanceof Error ? { ok: false, status: 503, json: async () => ({}) } : { ok: true, status: 200, json: async () => serve };
      },
    );
    src.seed([{ urls: "turn:t?transport=udp", username: "1:a", credential: "c1" }], 100);
    now = 49_000;
    assert.equal((await src.get()).iceServers[0].username, "1:a");
    assert.equal(asked.length, 0);
    now = 50_000;
    const c = await src.get();
    assert.deepEqual(asked, ["/api/rtc-config?relay=1"]);
    assert.equal(c.iceServers[0].username, "2:a");
    assert.equal(c.iceTransportPolicy, "relay");
    // A failed refresh keeps what it has (and tries again next time).
    serve = new Error("down");
    now = 101_000;
    const warn = console.warn;
    console.warn = () => {};
    try {
      assert.equal((await src.get()).iceServers[0].username, "2:a");
    } finally {
      console.warn = warn;
    }
    assert.equal(asked.length, 2);
  });
});

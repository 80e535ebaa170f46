import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { checkTurnRestCredential } from "./credentials.js";
import { invalidIceUri, rtcConfiguration } from "./ice-config.js";

const NOW = 1_800_000_000_000;

describe("rtcConfiguration", () => {
  test("no servers configured: an empty list (no public default)", () => {
    assert.deepEqual(rtcConfiguration({ stunUris: [], turnUris: [] }, "a", NOW), { iceServers: [], iceTransportPolicy: "all", ttl: 86400 });
  });

  test("STUN and TURN with a credential bound to the account", () => {
    const c = rtcConfiguration(
      { stunUris: ["stun:127.0.0.1:3478"], turnUris: ["turn:127.0.0.1:3478?transport=udp"], turnSecret: "s", turnTtlSeconds: 600 },
      "alice",
      NOW,
    );
    assert.deepEqual(c.iceServers[0], { urls: ["stun:127.0.0.1:3478"] });
    const turn = c.iceServers[1];
    assert.equal(turn.username, `${NOW / 1000 + 600}:alice`);
    assert.equal(checkTurnRestCredential("s", turn.username, turn.credential!, NOW), "ok");
    assert.equal(c.ttl, 600);
  });

  test("TURN URIs without a secret are not handed out", () => {
    assert.deepEqual(rtcConfiguration({ stunUris: [], turnUris: ["turn:x:3478"] }, "a", NOW).iceServers, []);
  });
});

describe("invalidIceUri", () => {
  for (const ok of ["stun:127.0.0.1:3478", "turn:turn.example.org:3478?transport=udp", "turns:t.example.org:5349?transport=tcp", "STUN:h"]) {
    test(`accepts ${ok}`, () => assert.equal(invalidIceUri(ok), undefined));
  }
  for (const bad of ["http://x", "turn:", "turn:h?transport=sctp", "stun: h"]) {
    test(`refuses ${bad}`, () => assert.ok(invalidIceUri(bad)));
  }
});

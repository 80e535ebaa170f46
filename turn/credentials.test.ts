import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { describe, test } from "node:test";
import { checkTurnRestCredential, turnRestCredential } from "./credentials.js";

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0); // 1795435200 s

describe("TURN REST credentials", () => {
  const cases: Array<[string, string, number, string]> = [
    ["s3cret", "alice", 86400, `${NOW / 1000 + 86400}:alice`],
    ["s3cret", "local", 60, `${NOW / 1000 + 60}:local`],
    ["another secret", "uid-42_x", 3600, `${NOW / 1000 + 3600}:uid-42_x`],
  ];
  for (const [secret, account, ttl, username] of cases) {
    test(`${account} for ${ttl}s → ${username}`, () => {
      const c = turnRestCredential(secret, account, ttl, NOW);
      assert.equal(c.username, username);
      assert.equal(c.credential, createHmac("sha1", secret).update(username).digest("base64"));
      assert.equal(c.expiresAt, NOW / 1000 + ttl);
    });
  }

  test("a known vector: HMAC-SHA1 over the username, base64", () => {
    const c = turnRestCredential("north", "ivan", 3600, 1_700_000_000_000);
    assert.equal(c.username, "1700003600:ivan");
    assert.equal(c.credential, createHmac("sha1", "north").update("1700003600:ivan").digest("base64"));
  });

  test("checks: ok, expired at the expiry second, tampered, malformed", () => {
    const c = turnRestCredential("k", "bob", 10, NOW);
    assert.equal(checkTurnRestCredential("k", c.username, c.credential, NOW + 9_999), "ok");
    assert.equal(checkTurnRestCredential("k", c.username, c.credential, NOW + 10_000), "expired");
    assert.equal(checkTurnRestCredential("k", c.username.replace("bob", "eve"), c.credential, NOW), "bad_signature");
    assert.equal(checkTurnRestCredential("other", c.username, c.credential, NOW), "bad_signature");
    assert.equal(checkTurnRestCredential("k", "bob", c.credential, NOW), "malformed");
  });

  test("refuses nonsense", () => {
    assert.throws(() => turnRestCredential("", "a", 10, NOW), TypeError);
    assert.throws(() => turnRestCredential("k", "a", 0, NOW), TypeError);
    assert.throws(() => turnRestCredential("k", "a:b", 10, NOW), TypeError);
  });
});

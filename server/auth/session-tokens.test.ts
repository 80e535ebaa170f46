import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SessionTokens } from "./session-tokens.js";

const T0 = Date.UTC(2026, 0, 1);
const tokens = new SessionTokens(Buffer.alloc(32, 7));

describe("SessionTokens", () => {
  test("a token names its account and when it was issued until it expires, an hour later", () => {
    const { token, expiresAt } = tokens.issue("alice", T0);
    assert.equal(expiresAt, T0 + 3600_000);
    assert.ok(SessionTokens.looksLikeOurs(token));
    for (const [at, want] of [
      [T0, { account: "alice", issuedAt: T0 }],
      [expiresAt - 1, { account: "alice", issuedAt: T0 }],
      [expiresAt, "expired_token"],
      [expiresAt + 86400_000, "expired_token"],
    ] as const) {
      assert.deepEqual(tokens.verify(token, at), want, `at +${at - T0} ms`);
    }
  });

  test("tampered, foreign and malformed tokens are bad_token", () => {
    const { token } = tokens.issue("alice", T0);
    const [prefix, payload, mac] = token.split(".");
    const forged = Buffer.from(JSON.stringify({ sub: "bob", exp: 9e9 })).toString("base64url");
    const other = new SessionTokens(Buffer.alloc(32, 8)).issue("alice", T0).token;
    for (const bad of [
      `${prefix}.${forged}.${mac}`,
      `${prefix}.${payload}.${mac.slice(0, -2)}AA`,
      `${prefix}.${payload}.`,
      other,
      "",
      "ts1..",
      token + "x",
      "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.",
    ]) {
      assert.equal(tokens.verify(bad, T0), "bad_token", bad);
    }
  });

  test("only the issued spelling of the MAC is valid: its last character's spare bits may not change", () => {
    const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const { token } = tokens.issue("alice", T0);
    const last = token.at(-1)!;
    const twin = B64URL[B64URL.indexOf(last) ^ 1]; // the same 4 data bits, another spare bit
    assert.deepEqual(Buffer.from(token.slice(-43), "base64url"), Buffer.from(token.slice(-43, -1) + twin, "base64url"), "decodes the same");
    assert.equal(tokens.verify(token.slice(0, -1) + twin, T0), "bad_token");
  });

  test("a secret shorter than 32 bytes is refused", () => {
    assert.throws(() => new SessionTokens(Buffer.alloc(16)), TypeError);
  });
});

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { checkSnapshot, signSnapshot } from "./signing.js";

const SECRET = Buffer.alloc(32, 7);
const PATH = "/snapshots/1800000600-abc.jpg";
const EXPIRES = 1_800_000_600;

describe("snapshot URL signatures", () => {
  const sig = signSnapshot(SECRET, PATH, EXPIRES);
  const cases: Array<[string, string, string | undefined, string | undefined, number, string]> = [
    ["valid before expiry", PATH, String(EXPIRES), sig, EXPIRES * 1000 - 1, "ok"],
    ["expired at the second", PATH, String(EXPIRES), sig, EXPIRES * 1000, "expired"],
    ["another path", "/snapshots/1800000600-abd.jpg", String(EXPIRES), sig, 0, "bad_signature"],
    ["a later expiry", PATH, String(EXPIRES + 1), sig, 0, "bad_signature"],
    ["a changed signature", PATH, String(EXPIRES), sig.replace(/^./, (c) => (c === "A" ? "B" : "A")), 0, "bad_signature"],
    ["no signature", PATH, String(EXPIRES), undefined, 0, "bad_signature"],
    ["a malformed expiry", PATH, "soon", sig, 0, "bad_signature"],
    ["another secret", PATH, String(EXPIRES), signSnapshot(Buffer.alloc(32, 8), PATH, EXPIRES), 0, "bad_signature"],
  ];
  for (const [what, path, expires, s, now, want] of cases) {
    test(what, () => assert.equal(checkSnapshot(SECRET, path, expires, s, now), want));
  }
});

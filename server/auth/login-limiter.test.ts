import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { LoginLimiter } from "./login-limiter.js";

describe("LoginLimiter", () => {
  test("an address may fail `burst` times, then waits for the refill", () => {
    const l = new LoginLimiter(3, 6); // 3 in a row, one forgiven every 10 s
    for (let i = 0; i < 3; i++) {
      assert.equal(l.retryAfter("a", 0), 0, `attempt ${i + 1}`);
      l.failed("a", 0);
    }
    assert.equal(l.retryAfter("a", 0), 10);
    assert.equal(l.retryAfter("a", 4000), 6);
    assert.equal(l.retryAfter("b", 4000), 0, "other addresses are not affected");
    assert.equal(l.retryAfter("a", 10_000), 0);
    l.failed("a", 10_000);
    assert.equal(l.retryAfter("a", 10_000), 10, "one token came back, one was used");
  });

  test("a fully refilled address is forgotten; the table is bounded", () => {
    const l = new LoginLimiter(2, 60, 3);
    l.failed("a", 0);
    assert.equal(l.size, 1);
    assert.equal(l.retryAfter("a", 1000), 0);
    assert.equal(l.size, 0);
    for (const a of ["w", "x", "y", "z"]) l.failed(a, 2000);
    assert.equal(l.size, 3);
  });
});

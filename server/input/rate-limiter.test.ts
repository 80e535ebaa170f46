import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TokenBucket } from "./rate-limiter.js";

describe("TokenBucket", () => {
  test("allows the burst at once, then refuses", () => {
    const b = new TokenBucket(500, 100);
    let ok = 0;
    for (let i = 0; i < 150; i++) if (b.take(0)) ok++;
    assert.equal(ok, 100);
  });

  test("refills at the rate", () => {
    const b = new TokenBucket(500, 100);
    for (let i = 0; i < 100; i++) b.take(0);
    assert.equal(b.take(0), false);
    let ok = 0;
    for (let i = 0; i < 100; i++) if (b.take(100)) ok++; // 100 ms → 50 tokens
    assert.equal(ok, 50);
  });

  test("sustains exactly the rate over a long run", () => {
    const b = new TokenBucket(500, 10);
    let ok = 0;
    for (let t = 0; t < 10_000; t++) for (let i = 0; i < 3; i++) if (b.take(t)) ok++; // 3000 lines/s offered
    assert.ok(Math.abs(ok - (500 * 10 + 10)) <= 2, `${ok}`);
  });

  test("a clock that goes backwards grants nothing extra", () => {
    const b = new TokenBucket(1000, 1);
    assert.equal(b.take(100), true);
    assert.equal(b.take(50), false);
    assert.equal(b.take(100), false);
    assert.equal(b.take(101), true);
  });

  test("rejects nonsense parameters", () => {
    assert.throws(() => new TokenBucket(0, 1), TypeError);
    assert.throws(() => new TokenBucket(1, 0), TypeError);
  });
});

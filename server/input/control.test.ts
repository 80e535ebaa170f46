import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ControlArbiter } from "./control.js";

describe("ControlArbiter", () => {
  test("grants a free device, refuses others with busy", () => {
    const c = new ControlArbiter(60_000);
    assert.deepEqual(c.request("a", 0), { holder: "a" });
    assert.equal(c.request("b", 1), "busy");
    assert.equal(c.request("a", 2), null, "re-request by the holder changes nothing");
    assert.equal(c.holder, "a");
  });

  test("release by the holder frees it; by anyone else does nothing", () => {
    const c = new ControlArbiter(60_000);
    c.request("a", 0);
    assert.equal(c.release("b"), null);
    assert.deepEqual(c.release("a"), { holder: null });
    assert.deepEqual(c.request("b", 1), { holder: "b" });
  });

  test("only the holder may use it", () => {
    const c = new ControlArbiter(60_000);
    c.request("a", 0);
    assert.equal(c.use("a", 10), true);
    assert.equal(c.use("b", 10), false);
  });

  test("idle holders lose control; activity keeps it", () => {
    const c = new ControlArbiter(1000);
    c.request("a", 0);
    assert.equal(c.use("a", 900), true);
    assert.equal(c.expire(1800), null, "activity at 900 extends to 1900");
    assert.deepEqual(c.expire(1901), { holder: null });
    assert.deepEqual(c.request("b", 1902), { holder: "b" });
  });

  test("a request after the holder idled out is granted", () => {
    const c = new ControlArbiter(1000);
    c.request("a", 0);
    assert.deepEqual(c.request("b", 1001), { holder: "b" });
    assert.equal(c.use("a", 1002), false);
  });

  test("the holder transfers control; nobody else can, and the new holder starts active", () => {
    const c = new ControlArbiter(1000);
    c.request("a", 0);
    assert.equal(c.transfer("b", "c", 10), null, "b does not hold it");
    assert.equal(c.transfer("a", "a", 10), null, "to itself: no change");
    assert.deepEqual(c.transfer("a", "b", 900), { holder: "b" });
    assert.equal(c.use("a", 901), false);
    assert.equal(c.expire(1800), null, "b's activity counts from the transfer");
    assert.equal(c.use("b", 1800), true);
  });
});

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { PointerOrder } from "./pointer-order.js";

describe("PointerOrder", () => {
  test("moves in order pass with their sequence number taken off", () => {
    const o = new PointerOrder();
    assert.deepEqual(o.move("m,10,10,0,0,1"), { ok: true, line: "m,10,10,0,0" });
    assert.deepEqual(o.move("m,11,10,0,0,2"), { ok: true, line: "m,11,10,0,0" });
  });

  test("a move that arrives after a newer one is stale: the pointer never goes back", () => {
    const o = new PointerOrder();
    assert.equal(o.move("m,30,30,0,0,3").ok, true);
    assert.deepEqual(o.move("m,20,20,0,0,2"), { ok: false, reason: "stale" });
    assert.deepEqual(o.move("m,30,30,0,0,3"), { ok: false, reason: "stale" }, "a duplicate too");
    assert.equal(o.move("m,40,40,0,0,4").ok, true);
  });

  test("a move sent before a press but arriving after it is dropped", () => {
    const o = new PointerOrder();
    assert.equal(o.move("m,1,1,0,0,1").ok, true);
    // 2 (a move) is delayed; 3 (the press, reliable) gets there first.
    assert.equal(o.reliable("m,5,5,1,0,3"), "m,5,5,1,0");
    assert.deepEqual(o.move("m,4,4,0,0,2"), { ok: false, reason: "stale" });
  });

  test("buttons come from the reliable lane: a move that overtakes a press or release changes no button", () => {
    const o = new PointerOrder();
    // The press (seq 1) is being retransmitted; the drag's moves (2, 3) say button 1 is down.
    assert.deepEqual(o.move("m,6,6,1,0,2"), { ok: true, line: "m,6,6,0,0" });
    assert.equal(o.reliable("m,5,5,1,0,1"), "m,5,5,1,0", "the press still lands, where it was pressed");
    assert.deepEqual(o.move("m,7,7,1,0,3"), { ok: true, line: "m,7,7,1,0" });
    // The release (4) is late; a move sent after it still holds nothing down by itself.
    assert.deepEqual(o.move("m,8,8,0,0,5"), { ok: true, line: "m,8,8,1,0" });
    assert.equal(o.reliable("m,8,8,0,0,4"), "m,8,8,0,0");
    assert.deepEqual(o.move("m,9,9,0,0,6"), { ok: true, line: "m,9,9,0,0" });
  });

  test("the pointer lane takes only sequenced moves without wheel", () => {
    const o = new PointerOrder();
    for (const line of ["kd,65", "m,1,1,0,0", "m,1,1,0,3,1", "t,move,0,1,1", "cw,"]) {
      assert.deepEqual(o.move(line), { ok: false, reason: "wrong_lane" }, line);
    }
  });

  test("reliable lines other than m pass unchanged; an m line without a number leaves the order alone", () => {
    const o = new PointerOrder();
    assert.equal(o.reliable("kd,65"), "kd,65");
    assert.equal(o.reliable("m,3,3,0,-2"), "m,3,3,0,-2");
    assert.equal(o.move("m,4,4,0,0,0").ok, true);
  });
});

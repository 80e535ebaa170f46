import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { LONG_PRESS_MS, SCROLL_STEP_PX, TouchGestures, type GestureTimer } from "./touch-gestures.js";

/** Gestures with a timer the test fires, and the pointer actions they made as `x,y,buttons,scroll`. */
function setup() {
  const out: string[] = [];
  const timers = new Map<number, { fn: () => void; ms: number }>();
  let next = 1;
  const timer: GestureTimer = {
    set: (fn, ms) => (timers.set(next, { fn, ms }), next++),
    clear: (h) => void timers.delete(h as number),
  };
  const g = new TouchGestures((x, y, b, s) => out.push(`${x},${y},${b},${s}`), timer);
  const fire = () => {
    const pending = [...timers.values()];
    timers.clear();
    for (const t of pending) {
      assert.equal(t.ms, LONG_PRESS_MS);
      t.fn();
    }
  };
  return { g, out, fire, timers };
}

describe("TouchGestures", () => {
  test("a tap clicks where the finger came down; a small wobble is still a tap", () => {
    const { g, out, timers } = setup();
    g.touch("start", 0, 100, 200);
    g.touch("move", 0, 104, 203);
    g.touch("end", 0, 104, 203);
    assert.deepEqual(out, ["100,200,1,0", "100,200,0,0"]);
    assert.equal(timers.size, 0, "the long-press timer is gone");
  });

  test("a finger that moves drags with the left button, from where it came down", () => {
    const { g, out } = setup();
    g.touch("start", 0, 10, 10);
    g.touch("move", 0, 30, 10);
    g.touch("move", 0, 60, 20);
    g.touch("end", 0, 60, 20);
    assert.deepEqual(out, ["10,10,1,0", "30,10,1,0", "60,20,1,0", "60,20,0,0"]);
  });

  test("a finger held still right-clicks once, and its lifting does nothing more", () => {
    const { g, out, fire } = setup();
    g.touch("start", 0, 50, 60);
    fire();
    g.touch("move", 0, 90, 90);
    g.touch("end", 0, 90, 90);
    assert.deepEqual(out, ["50,60,4,0", "50,60,0,0"]);
  });

  test("two fingers scroll a wheel step per SCROLL_STEP_PX: up scrolls down, down scrolls up; no click", () => {
    const { g, out, timers } = setup();
    g.touch("start", 0, 100, 300);
    g.touch("start", 1, 140, 300);
    assert.equal(timers.size, 0, "no long press with two fingers");
    g.touch("move", 0, 100, 300 - SCROLL_STEP_PX * 2);
    g.touch("move", 1, 140, 300 - SCROLL_STEP_PX * 2);
    g.touch("move", 0, 100, 300);
    g.touch("end", 1, 140, 300 - SCROLL_STEP_PX * 2);
    g.touch("end", 0, 100, 300);
    const wheel = out.map((l) => Number(l.split(",")[3]));
    assert.ok(
      out.every((l) => l.split(",")[2] === "0"),
      `no button: ${out.join(" ")}`,
    );
    assert.equal(
      wheel.filter((s) => s > 0).reduce((a, b) => a + b, 0),
      2,
      "two steps down while the fingers went up",
    );
    assert.ok(
      wheel.some((s) => s < 0),
      "and back up as one finger came down again",
    );
  });

  test("a second finger during a drag lets the button go first", () => {
    const { g, out } = setup();
    g.touch("start", 0, 10, 10);
    g.touch("move", 0, 40, 10);
    g.touch("start", 1, 80, 10);
    assert.deepEqual(out.slice(-1), ["40,10,0,0"]);
  });

  test("a cancelled touch clicks nothing; reset forgets a gesture under way", () => {
    const { g, out, timers } = setup();
    g.touch("start", 0, 10, 10);
    g.touch("cancel", 0, 10, 10);
    assert.deepEqual(out, []);
    g.touch("start", 0, 20, 20);
    g.reset();
    assert.equal(timers.size, 0);
    g.touch("start", 0, 30, 30);
    g.touch("end", 0, 30, 30);
    assert.deepEqual(out, ["30,30,1,0", "30,30,0,0"]);
  });
});

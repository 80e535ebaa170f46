/**
 * Unit tests of web/src/pointer-lane.ts, alone and with the server's
 * PointerOrder behind a lossy, reordering link (see e2e/coords.test.ts for
 * why web/ tests live in e2e/).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { checkInputLine } from "../server/input/lines.js";
import { PointerOrder } from "../server/input/pointer-order.js";
import { pointerLine } from "../web/src/input-lines.js";
import { PointerLanes, type Routed } from "../web/src/pointer-lane.js";

describe("PointerLanes", () => {
  test("without a pointer lane every line goes out unchanged on input", () => {
    const lanes = new PointerLanes();
    for (const line of [pointerLine(1, 2, 0), pointerLine(3, 4, 0), "kd,65", pointerLine(3, 4, 1)]) {
      assert.deepEqual(lanes.route(line, false), { lane: "input", line });
    }
    assert.equal(lanes.settle(), undefined);
  });

  test("moves go on pointer, presses, releases, wheel and keys on input; every m line is numbered", () => {
    const lanes = new PointerLanes();
    const routed = [
      pointerLine(1, 1, 0), // the first line of a connection: input
      pointerLine(2, 1, 0),
      pointerLine(3, 1, 1), // press
      pointerLine(4, 1, 1), // drag
      pointerLine(4, 1, 0), // release
      pointerLine(4, 1, 0, 2), // wheel
      "kd,65",
      pointerLine(5, 1, 0),
    ].map((l) => lanes.route(l, true));
    assert.deepEqual(routed, [
      { lane: "input", line: "m,1,1,0,0,1" },
      { lane: "pointer", line: "m,2,1,0,0,2" },
      { lane: "input", line: "m,3,1,1,0,3" },
      { lane: "pointer", line: "m,4,1,1,0,4" },
      { lane: "input", line: "m,4,1,0,0,5" },
      { lane: "input", line: "m,4,1,0,2,6" },
      { lane: "input", line: "kd,65" },
      { lane: "pointer", line: "m,5,1,0,0,7" },
    ]);
    for (const r of routed) assert.equal(checkInputLine(r.line).ok, true, `${r.line} passes the server's grammar`);
  });

  test("a resting pointer settles its last move on input, once; a reset keeps the numbers growing", () => {
    const lanes = new PointerLanes();
    lanes.route(pointerLine(1, 1, 0), true);
    lanes.route(pointerLine(9, 9, 0), true);
    assert.deepEqual(lanes.settle(), { lane: "input", line: "m,9,9,0,0,3" });
    assert.equal(lanes.settle(), undefined);
    lanes.route(pointerLine(5, 5, 1), true); // a press is already reliable: nothing to settle
    assert.equal(lanes.settle(), undefined);
    lanes.reset();
    assert.deepEqual(lanes.route(pointerLine(6, 6, 1), true), { lane: "input", line: "m,6,6,1,0,5" });
  });
});

/** A seeded generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe("PointerLanes → lossy link → PointerOrder", () => {
  test("with 20% of moves lost and many reordered: every press and release lands where it was made, moves never go back, the pointer ends where it stopped", () => {
    for (let seed = 1; seed <= 50; seed++) {
      const rnd = random(seed);
      const lanes = new PointerLanes();
      const order = new PointerOrder();
      // What the viewer does: strokes of moves, some with the button held.
      const sent: Routed[] = [];
      const made: string[] = [];
      let x = 0;
      for (let stroke = 0; stroke < 20; stroke++) {
        const held = rnd() < 0.5 ? 1 : 0;
        if (held) {
          sent.push(lanes.route(pointerLine(x, 0, 1), true));
          made.push(`m,${x},0,1,0`);
        }
        for (let i = 0; i < 10; i++) sent.push(lanes.route(pointerLine(++x, 0, held), true));
        if (held) {
          sent.push(lanes.route(pointerLine(x, 0, 0), true));
          made.push(`m,${x},0,0,0`);
        }
        const settled = lanes.settle();
        if (settled) sent.push(settled);
      }
      // The link: input arrives in order (it may be late); pointer lines are lost (20%) or reordered.
      const reliable = sent.filter((r) => r.lane === "input");
      const moves = sent.filter((r) => r.lane === "pointer" && rnd() >= 0.2);
      for (let i = moves.length - 1; i > 0; i--) {
        if (rnd() < 0.3) [moves[i], moves[i - 1]] = [moves[i - 1], moves[i]];
      }
      const device: Array<{ line: string; lane: "input" | "pointer" }> = [];
      while (reliable.length || moves.length) {
        if (moves.length === 0 || (reliable.length > 0 && rnd() < 0.3)) device.push({ line: order.reliable(reliable.shift()!.line), lane: "input" });
        else {
          const r = order.move(moves.shift()!.line);
          if (r.ok) device.push({ line: r.line, lane: "pointer" });
        }
      }
      const field = (l: string, i: number) => l.split(",")[i];
      // Buttons change only with the reliable lines that changed them, every one, in order, where it was made.
      const changes = device.filter((d, i) => field(d.line, 3) !== (i === 0 ? "0" : field(device[i - 1].line, 3))).map((d) => d.line);
      assert.deepEqual(changes, made, `seed ${seed}: presses and releases`);
      // A move never takes the pointer back behind anything forwarded before it.
      let furthest = -1;
      for (const d of device) {
        const dx = Number(field(d.line, 1));
        if (d.lane === "pointer") assert.ok(dx >= furthest, `seed ${seed}: move to ${dx} after ${furthest}`);
        furthest = Math.max(furthest, dx);
      }
      assert.equal(Number(field(device.at(-1)!.line, 1)), x, `seed ${seed}: the pointer ends where it stopped`);
    }
  });
});

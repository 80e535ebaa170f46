import { execFile } from "node:child_process";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { promisify } from "node:util";
import x11, { type XClient, type XDisplay, type XError, type XRandr } from "x11";
import { startXvfb, type TestDisplay } from "../../e2e/lib/xvfb.js";
import { createLogger } from "../log.js";
import { clampEven, modeInfo, RandrResizer } from "./randr.js";

const run = promisify(execFile);

test("clampEven keeps sizes in range and even", () => {
  assert.equal(clampEven(801, 32, 4096), 800);
  assert.equal(clampEven(1, 32, 4096), 32);
  assert.equal(clampEven(99999, 32, 4096), 4096);
  assert.equal(clampEven(33.9, 33, 4096), 34, "rounded up when down would leave the range");
  assert.equal(clampEven(5000, 1, 4095), 4094);
});

test("modeInfo gives minimal timings at about 60 Hz", () => {
  const m = modeInfo(1000, 600, "tessera-1000x600");
  assert.deepEqual([m.h_sync_start, m.h_sync_end, m.h_total, m.v_sync_start, m.v_sync_end, m.v_total], [1001, 1002, 1003, 601, 602, 603]);
  assert.equal(Math.round(m.dot_clock / (m.h_total * m.v_total)), 60);
});

describe("RandrResizer when the server refuses", () => {
  let xvfb: TestDisplay;
  let X: XClient;
  let d: XDisplay;
  const errors: XError[] = [];

  before(async () => {
    xvfb = await startXvfb({ width: 640, height: 480 });
    ({ X, d } = await new Promise<{ X: XClient; d: XDisplay }>((resolve, reject) => {
      const X = x11.createClient({ display: xvfb.display, shm: false }, (err, d) => (err ? reject(err) : resolve({ X, d })));
    }));
    X.on("error", (err: XError) => errors.push(err));
  });

  after(async () => {
    X?.terminate();
    await xvfb?.close();
  });

  test("a mode Xvfb will not take resolves undefined, leaves the screen as it was and destroys the mode it made", async () => {
    const root = d.screen[0].root;
    const rr = await new Promise<XRandr>((resolve, reject) => X.require<XRandr>("randr", (err, ext) => (err ? reject(err) : resolve(ext))));
    // Xvfb's range ends at its starting size; claim more, so the request reaches AddOutputMode, which Xvfb refuses.
    rr.GetScreenSizeRange = (_window, cb) => cb(null, { minWidth: 1, minHeight: 1, maxWidth: 4096, maxHeight: 4096 });
    const resizer = new RandrResizer(X, root, createLogger("silent"));
    assert.equal(await resizer.resize(1000, 600), undefined);
    const { stdout } = await run("xrandr", [], { env: xvfb.env, timeout: 5000 });
    assert.match(stdout, /current 640 x 480/);
    assert.doesNotMatch(stdout, /tessera-/);
    assert.deepEqual(errors, [], "the refusal is handled, not emitted");
    assert.deepEqual(await resizer.resize(320, 240), { width: 320, height: 240 }, "and the next one still works");
  });
});

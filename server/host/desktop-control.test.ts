import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createLogger } from "../log.js";
import { DesktopControl } from "./desktop-control.js";

/** A desktop that records what reaches it; resize() resolves when the test says. */
function recorder() {
  const injected: string[] = [];
  const resizes: Array<{ width: number; height: number; done: () => void }> = [];
  return {
    injected,
    resizes,
    desktop: {
      inject: (line: string) => (injected.push(line), true),
      resize: (width: number, height: number) =>
        new Promise<{ width: number; height: number } | undefined>((resolve) => resizes.push({ width, height, done: () => resolve({ width, height }) })),
    },
  };
}

const until = async (what: string, check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(check(), what);
};

describe("DesktopControl", () => {
  test("input lines are injected only with input allowed; resizes only with resize allowed", () => {
    const none = recorder();
    const c = new DesktopControl(
      none.desktop,
      { input: false, resize: false },
      createLogger("silent"),
      () => {},
      () => {},
      0,
    );
    assert.equal(c.line("m,1,1,0,0"), false);
    assert.equal(c.line("r,800x600"), false);
    assert.deepEqual([none.injected, none.resizes.length], [[], 0]);
    const both = recorder();
    const d = new DesktopControl(
      both.desktop,
      { input: true, resize: true },
      createLogger("silent"),
      () => {},
      () => {},
      0,
    );
    assert.equal(d.line("kd,97"), true);
    assert.equal(d.line("r,800x600"), true);
    assert.equal(d.line("r,800"), false, "a malformed resize is refused");
    assert.deepEqual(both.injected, ["kd,97"], "r lines are never injected");
  });

  test("one resize at a time: requests made meanwhile collapse into the latest", async () => {
    const r = recorder();
    const c = new DesktopControl(
      r.desktop,
      { input: false, resize: true },
      createLogger("silent"),
      () => {},
      () => {},
      0,
    );
    c.line("r,800x600");
    for (const w of [900, 1000, 1100]) c.line(`r,${w}x600`);
    assert.equal(r.resizes.length, 1);
    r.resizes[0].done();
    await until("the latest request runs next", () => r.resizes.length === 2);
    assert.deepEqual([r.resizes[1].width, r.resizes[1].height], [1100, 600]);
    r.resizes[1].done();
    c.close();
    c.line("r,640x480");
    await new Promise((res) => setTimeout(res, 20));
    assert.equal(r.resizes.length, 2, "nothing after close");
  });

  test("frame-rate and bitrate requests go to the stream whatever else is allowed", () => {
    const r = recorder();
    const asked: Array<{ fps?: number; bitrateKbps?: number }> = [];
    const c = new DesktopControl(
      r.desktop,
      { input: false, resize: false },
      createLogger("silent"),
      (s) => asked.push(s),
      () => {},
      0,
    );
    assert.equal(c.line("_arg_fps,15"), true);
    assert.equal(c.line("vb,1500"), true);
    assert.equal(c.line("vb,"), false);
    assert.deepEqual(asked, [{ fps: 15 }, { bitrateKbps: 1500 }]);
    assert.deepEqual(r.injected, []);
  });

  test("p,N is answered with a pong whatever is allowed, and never injected", () => {
    const r = recorder();
    const replies: unknown[] = [];
    const c = new DesktopControl(
      r.desktop,
      { input: false, resize: false },
      createLogger("silent"),
      () => {},
      (m) => replies.push(m),
      0,
    );
    assert.equal(c.line("p,42"), true);
    assert.equal(c.line("p,x"), false);
    assert.deepEqual(replies, [{ type: "pong", n: 42 }]);
    assert.deepEqual(r.injected, []);
  });
});

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { IdleRate } from "./idle-rate.js";

const until = async (what: string, check: () => boolean, ms = 2000) => {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  assert.ok(check(), what);
};

describe("IdleRate", () => {
  test("idles after a still spell, wakes on a change, idles again; nothing after close", async () => {
    const calls: boolean[] = [];
    const rate = new IdleRate((idle) => calls.push(idle), 40);
    await until("idle after 40 ms without a change", () => calls.length === 1);
    assert.deepEqual(calls, [true]);
    rate.wake();
    rate.wake();
    assert.deepEqual(calls, [true, false], "one wake-up however many changes");
    await until("idle again", () => calls.length === 3);
    assert.deepEqual(calls, [true, false, true]);
    rate.close();
    rate.wake();
    await new Promise((r) => setTimeout(r, 80));
    assert.deepEqual(calls, [true, false, true]);
  });

  test("changes keep coming: never idles", async () => {
    const calls: boolean[] = [];
    const rate = new IdleRate((idle) => calls.push(idle), 60);
    for (let i = 0; i < 10; i++) {
      rate.wake();
      await new Promise((r) => setTimeout(r, 15));
    }
    assert.deepEqual(calls, []);
    rate.close();
  });
});

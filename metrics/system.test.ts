import assert from "node:assert/strict";
import { cpus } from "node:os";
import { describe, test } from "node:test";
import { cpuTimes, loadBetween } from "./system.js";

type Cpu = ReturnType<typeof cpus>[number];
const cpu = (user: number, sys: number, idle: number): Cpu => ({ model: "test", speed: 1, times: { user, nice: 0, sys, idle, irq: 0 } });

describe("host CPU load", () => {
  test("busy is everything but idle, summed over cores", () => {
    assert.deepEqual(cpuTimes([cpu(100, 50, 850), cpu(300, 0, 700)]), { busy: 450, total: 2000 });
  });

  test("the load is the busy share of the time between two readings", () => {
    const before = cpuTimes([cpu(100, 0, 900), cpu(100, 0, 900)]);
    const after = cpuTimes([cpu(400, 100, 1500), cpu(200, 0, 1800)]);
    // 500 of 2000 ms busy.
    assert.equal(loadBetween(before, after), 0.25);
  });

  test("no time passed gives no load, not a division by zero", () => {
    const t = cpuTimes([cpu(1, 1, 1)]);
    assert.equal(loadBetween(t, t), undefined);
  });

  test("the machine's own counters give a load between 0 and 1", () => {
    const load = loadBetween({ busy: 0, total: 0 }, cpuTimes());
    assert.ok(load !== undefined && load >= 0 && load <= 1, `load ${load}`);
  });
});

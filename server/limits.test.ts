import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TesseraError } from "./errors.js";
import { ACCOUNT_LIMIT_DEFAULTS, Limits, NODE_LIMIT_DEFAULTS, type LimitValues } from "./limits.js";
import { limitList } from "./option-values.js";

const values = (v: Partial<LimitValues>, base: LimitValues = ACCOUNT_LIMIT_DEFAULTS): LimitValues => ({ ...base, ...v });

/** The limit error `fn` throws: its code, HTTP status and Retry-After. */
function refusal(fn: () => unknown): { status: number; retryAfter: string | undefined; message: string } {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof TesseraError && err.code === "limit", String(err));
    return { status: err.status, retryAfter: err.headers["Retry-After"], message: err.message };
  }
  assert.fail("expected a limit error");
}

describe("Limits", () => {
  test("an account at its limit gets 429, the node at its own 503; a release frees exactly one place", () => {
    const refused: string[] = [];
    const limits = new Limits({ node: values({ devices: 3 }), account: values({ devices: 2 }), refused: (n, s) => refused.push(`${n}/${s}`) });
    const a1 = limits.take("devices", "alice");
    const a2 = limits.take("devices", "alice");
    const r = refusal(() => limits.take("devices", "alice"));
    assert.equal(r.status, 429);
    assert.equal(r.retryAfter, "10");
    assert.match(r.message, /this account may have at most 2 devices/);
    const b1 = limits.take("devices", "bob");
    assert.equal(refusal(() => limits.take("devices", "bob")).status, 503, "bob is under his own limit, the node is full");
    assert.deepEqual(refused, ["devices/account", "devices/node"]);
    assert.equal(limits.inUse("devices"), 3);
    assert.equal(limits.inUse("devices", "alice"), 2);
    a1.release();
    a1.release(); // a second release changes nothing
    assert.equal(limits.inUse("devices"), 2);
    const b2 = limits.take("devices", "bob");
    assert.equal(refusal(() => limits.take("devices", "alice")).status, 503);
    for (const l of [a2, b1, b2]) l.release();
    assert.equal(limits.inUse("devices"), 0);
    assert.equal(limits.inUse("devices", "alice"), 0);
  });

  test("0 is no limit; limits are counted apart", () => {
    const limits = new Limits({ node: values({ viewers: 0, whip: 1 }), account: ACCOUNT_LIMIT_DEFAULTS });
    for (let i = 0; i < 5000; i++) limits.take("viewers", "alice");
    limits.take("whip", "alice");
    assert.equal(refusal(() => limits.take("whip", "bob")).status, 503);
    assert.equal(limits.inUse("viewers"), 5000);
  });

  test("the frame rate refills over time, per account and for the node", () => {
    const limits = new Limits({ node: values({ frames: 10 }), account: values({ frames: 6 }) });
    for (let i = 0; i < 6; i++) limits.spend("frames", "alice", 1000);
    assert.equal(refusal(() => limits.spend("frames", "alice", 1000)).status, 429);
    for (let i = 0; i < 4; i++) limits.spend("frames", "bob", 1000);
    // The node's 10 a second are spent; carol is under her own.
    assert.equal(refusal(() => limits.spend("frames", "carol", 1000)).status, 503);
    limits.spend("frames", "carol", 1100); // a tenth of a second later: one more for the node
    assert.equal(refusal(() => limits.spend("frames", "carol", 1100)).status, 503);
    assert.equal(refusal(() => limits.spend("frames", "alice", 1100)).status, 429, "alice has 0.6 of a frame back");
    limits.spend("frames", "alice", 1300);
  });
});

describe("--limit values", () => {
  test("NAME=N pairs over the defaults; a config file's object too", () => {
    const parsed = limitList(NODE_LIMIT_DEFAULTS).parse(["devices=5", "frames=0"]);
    assert.deepEqual(parsed, { ...NODE_LIMIT_DEFAULTS, devices: 5, frames: 0 });
    assert.deepEqual(limitList(ACCOUNT_LIMIT_DEFAULTS).parse({ pipelines: 4 }), { ...ACCOUNT_LIMIT_DEFAULTS, pipelines: 4 });
    assert.deepEqual(limitList(NODE_LIMIT_DEFAULTS).parse([]), NODE_LIMIT_DEFAULTS);
  });

  test("unknown names, bad numbers and bad shapes are refused, naming what is expected", () => {
    for (const bad of [["cameras=5"], ["devices"], ["devices=-1"], ["devices=1.5"], ["devices=2000000"], ["devices=1=2"], ["devices=x"]]) {
      const r = limitList(NODE_LIMIT_DEFAULTS).safeParse(bad);
      assert.ok(!r.success, JSON.stringify(bad));
      assert.match(r.error.issues[0].message, /expected NAME=N with NAME one of devices, viewers, fallback-viewers, whip, pipelines, frames/);
    }
  });
});

/**
 * Changing transport during a session. The rules are pure (FallbackTrigger's
 * "lost" and "stalled", ProbeBackoff, ProbeJudge, ControlCarry) and tested
 * here with fake clocks; then, in Chromium, the whole move: the server and
 * the viewer in a network namespace of this file's own, UDP blocked in the
 * middle of a session (nftables), the viewer moves to the WebSocket stream
 * keeping control, a probe fails while UDP stays blocked, and once it is
 * let through again the viewer comes back to WebRTC, still in control.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Page } from "playwright-core";
import { CRAWL_MS, FallbackTrigger, LOST_MS, SILENT_MS, STALL_MS, type FallbackReason } from "../web/src/fallback/auto-fallback.js";
import { FIRST_PROBE_MS, MAX_PROBE_MS, PROBE_FRAMES, PROBE_QUIET_MS, ProbeBackoff, ProbeJudge, STABLE_MS } from "../web/src/fallback/probe-back.js";
import { ControlCarry } from "../web/src/control-carry.js";
import { canvasMoves, framesAdvance, useEnv, viewerState, waitFor, withPages, type Env } from "./harness.js";
import { createNetns, droppedUdp, dropUdp, type Netns } from "./lib/netns.js";

/** Fake timers: `advance` runs what is due. */
function fakeTimers() {
  let now = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  let next = 1;
  return {
    timers: {
      set: (fn: () => void, ms: number) => (timers.set(next, { at: now + ms, fn }), next++),
      clear: (h: unknown) => void timers.delete(h as number),
    },
    advance: (ms: number) => {
      now += ms;
      for (const [h, t] of [...timers]) {
        if (t.at <= now) {
          timers.delete(h);
          t.fn();
        }
      }
    },
    pending: () => timers.size,
  };
}

describe("FallbackTrigger during the session", () => {
  function connected() {
    const clock = fakeTimers();
    const fired: FallbackReason[] = [];
    const trigger = new FallbackTrigger(clock.timers, (r) => fired.push(r));
    trigger.watchSent();
    trigger.deviceState("online");
    trigger.offered();
    trigger.answered();
    trigger.connectionState("connected");
    return { trigger, fired, ...clock };
  }

  test("a connection that worked and stays away from connected for LOST_MS: lost", () => {
    const { trigger, fired, advance } = connected();
    trigger.connectionState("disconnected");
    advance(LOST_MS - 1);
    // A new connection (the watch asked again) that does not connect in time changes nothing.
    trigger.connectionState("none");
    trigger.connectionState("connecting");
    assert.deepEqual(fired, []);
    advance(1);
    assert.deepEqual(fired, ["lost"]);
  });
  test("back to connected in time, or the device going offline, or signaling down: not lost", () => {
    const a = connected();
    a.trigger.connectionState("disconnected");
    a.advance(LOST_MS - 100);
    a.trigger.connectionState("connected");
    a.advance(60_000);
    assert.deepEqual(a.fired, []);
    assert.equal(a.pending(), 0);
    const b = connected();
    b.trigger.connectionState("disconnected");
    b.trigger.deviceState("offline");
    b.advance(60_000);
    assert.deepEqual(b.fired, []);
    const c = connected();
    c.trigger.connectionState("disconnected");
    c.trigger.pause();
    c.advance(60_000);
    assert.deepEqual(c.fired, []);
  });
  test("no frame for STALL_MS while video bytes arrive: stalled", () => {
    const { trigger, fired } = connected();
    trigger.sample({ at: 0, framesDecoded: 100, videoBytes: 1e6, transportBytes: null });
    trigger.sample({ at: 1000, framesDecoded: 130, videoBytes: 1.2e6, transportBytes: null });
    trigger.sample({ at: 1000 + STALL_MS - 1, framesDecoded: 130, videoBytes: 1.3e6, transportBytes: null });
    assert.deepEqual(fired, []);
    trigger.sample({ at: 1000 + STALL_MS, framesDecoded: 130, videoBytes: 1.31e6, transportBytes: null });
    assert.deepEqual(fired, ["stalled"]);
  });
  test("on a link the server calls too slow for its smallest layer, a picture crawling below CRAWL_FPS for CRAWL_MS: too_slow", () => {
    const { trigger, fired } = connected();
    // One frame a second, as at 100 kbit/s on the smallest layer's base temporal layer.
    const at = (s: number) => trigger.sample({ at: s * 1000, framesDecoded: 100 + s, videoBytes: 1e5 * (s + 1), transportBytes: null });
    for (let s = 0; s <= 10; s++) at(s);
    assert.deepEqual(fired, [], "crawling is not enough while the server says nothing");
    trigger.linkTooSlow(true);
    at(11);
    at(11 + CRAWL_MS / 1000 - 1);
    assert.deepEqual(fired, []);
    at(11 + CRAWL_MS / 1000);
    assert.deepEqual(fired, ["too_slow"]);
  });
  test("too slow, but the picture keeps its frame rate, or the server takes it back: not too_slow", () => {
    const a = connected();
    a.trigger.linkTooSlow(true);
    for (let s = 0; s <= 20; s++) a.trigger.sample({ at: s * 1000, framesDecoded: 10 * s, videoBytes: 1e5 * (s + 1), transportBytes: null });
    assert.deepEqual(a.fired, [], "10 frames a second is no crawl");
    const b = connected();
    b.trigger.linkTooSlow(true);
    for (let s = 0; s <= 3; s++) b.trigger.sample({ at: s * 1000, framesDecoded: s, videoBytes: 1e5 * (s + 1), transportBytes: null });
    b.trigger.linkTooSlow(false);
    for (let s = 4; s <= 20; s++) b.trigger.sample({ at: s * 1000, framesDecoded: s, videoBytes: 1e5 * (s + 1), transportBytes: null });
    assert.deepEqual(b.fired, []);
  });
  test("a device that sends nothing (a still screen) is not a stall; nor is one offline", () => {
    const { trigger, fired } = connected();
    trigger.sample({ at: 0, framesDecoded: 5, videoBytes: 5000, transportBytes: null });
    trigger.sample({ at: 30_000, framesDecoded: 5, videoBytes: 5000, transportBytes: null });
    assert.deepEqual(fired, []);
    trigger.deviceState("offline");
    trigger.sample({ at: 31_000, framesDecoded: 5, videoBytes: 9000, transportBytes: null });
    trigger.sample({ at: 60_000, framesDecoded: 5, videoBytes: 19000, transportBytes: null });
    assert.deepEqual(fired, []);
  });
  test("a connection that hears nothing at all (not even the server's RTCP) for SILENT_MS: lost, before the browser calls it disconnected", () => {
    const { trigger, fired } = connected();
    const at = (ms: number, bytes: number) => trigger.sample({ at: ms, framesDecoded: 50, videoBytes: 1000, transportBytes: bytes });
    at(0, 5000);
    at(1000, 5100);
    at(1000 + SILENT_MS - 1, 5100);
    assert.deepEqual(fired, []);
    at(1000 + SILENT_MS, 5100);
    assert.deepEqual(fired, ["lost"]);
  });
  test("silence before the server was ever heard, or while the device is offline, is not lost", () => {
    const a = connected();
    a.trigger.sample({ at: 0, framesDecoded: 0, videoBytes: 0, transportBytes: 0 });
    a.trigger.sample({ at: 30_000, framesDecoded: 0, videoBytes: 0, transportBytes: 0 });
    assert.deepEqual(a.fired, []);
    const b = connected();
    b.trigger.sample({ at: 0, framesDecoded: 5, videoBytes: 10, transportBytes: 100 });
    b.trigger.deviceState("offline");
    b.trigger.sample({ at: 30_000, framesDecoded: 5, videoBytes: 10, transportBytes: 100 });
    assert.deepEqual(b.fired, []);
  });
  test("samples before connecting, or after a new connection started, count from its start", () => {
    const { trigger, fired } = connected();
    trigger.sample({ at: 0, framesDecoded: 10, videoBytes: 1000, transportBytes: null });
    trigger.connectionState("disconnected");
    trigger.sample({ at: 5000, framesDecoded: 10, videoBytes: 2000, transportBytes: null });
    trigger.connectionState("connected");
    trigger.sample({ at: 6000, framesDecoded: 0, videoBytes: 0, transportBytes: null });
    trigger.sample({ at: 6000 + STALL_MS - 1, framesDecoded: 0, videoBytes: 500, transportBytes: null });
    assert.deepEqual(fired, []);
  });
});

describe("ProbeBackoff", () => {
  test("waits double after each failed probe, up to MAX_PROBE_MS", () => {
    const b = new ProbeBackoff();
    assert.equal(b.fellBack(0), FIRST_PROBE_MS);
    const waits = Array.from({ length: 6 }, () => b.probeFailed());
    assert.deepEqual(waits, [20_000, 40_000, 80_000, 160_000, MAX_PROBE_MS, MAX_PROBE_MS]);
  });
  test("a return that did not hold STABLE_MS doubles the wait; one that held starts over", () => {
    const b = new ProbeBackoff();
    assert.equal(b.fellBack(0), FIRST_PROBE_MS);
    b.wentBack(10_000);
    assert.equal(b.fellBack(10_000 + STABLE_MS - 1), 2 * FIRST_PROBE_MS, "flapping slows the probes");
    b.wentBack(100_000);
    assert.equal(b.fellBack(100_000 + 5000), 4 * FIRST_PROBE_MS);
    b.wentBack(200_000);
    assert.equal(b.fellBack(200_000 + STABLE_MS), FIRST_PROBE_MS, "WebRTC held: start over");
  });
});

describe("ProbeJudge", () => {
  test("passes with PROBE_FRAMES decoded while connected", () => {
    const j = new ProbeJudge();
    assert.equal(j.sample({ at: 0, framesDecoded: 50 }), "wait", "not connected yet");
    j.connectionState("connected", 100);
    assert.equal(j.sample({ at: 200, framesDecoded: PROBE_FRAMES - 1 }), "wait");
    assert.equal(j.sample({ at: 300, framesDecoded: PROBE_FRAMES }), "pass");
  });
  test("a quiet device passes with one frame after PROBE_QUIET_MS; none is never enough", () => {
    const j = new ProbeJudge();
    j.connectionState("connected", 0);
    assert.equal(j.sample({ at: PROBE_QUIET_MS - 1, framesDecoded: 1 }), "wait");
    assert.equal(j.sample({ at: PROBE_QUIET_MS, framesDecoded: 1 }), "pass");
    assert.equal(j.sample({ at: 60_000, framesDecoded: 0 }), "wait");
    j.connectionState("disconnected", 60_001);
    assert.equal(j.sample({ at: 60_002, framesDecoded: 99 }), "wait", "a connection that went away starts over");
  });
});

describe("ControlCarry", () => {
  function carry(timeoutMs = 50) {
    const log: string[] = [];
    let to: string | undefined;
    const c = new ControlCarry(
      {
        to: () => to,
        request: () => log.push("request"),
        handOver: (id) => log.push(`hand_over ${id}`),
        done: (moved) => log.push(`done ${moved}`),
      },
      timeoutMs,
    );
    return { c, log, setTo: (id: string) => (to = id) };
  }

  test("asks once the new transport is ready, answers only its own ask, is done when it holds control", () => {
    const { c, log, setTo } = carry();
    c.ready();
    assert.deepEqual(log, [], "no peer id yet: nothing to ask for");
    setTo("fb-1");
    c.ready();
    c.ready();
    assert.equal(c.refused("busy"), true, "the busy answer to our own request is expected");
    assert.equal(c.asked("someone-else"), false);
    assert.equal(c.asked("fb-1"), true);
    c.holder("someone-else");
    assert.equal(c.pending, true);
    c.holder("fb-1");
    assert.equal(c.pending, false);
    assert.deepEqual(log, ["request", "hand_over fb-1", "done true"]);
    assert.equal(c.refused("busy"), false, "after the move, a busy is the user's business again");
  });
  test("gives up after its timeout; cancel tells nobody", async () => {
    const a = carry(20);
    a.setTo("x");
    a.c.ready();
    await waitFor("the carry to give up", () => (a.log.includes("done false") ? true : undefined), { timeoutMs: 2000, intervalMs: 5 });
    const b = carry(20);
    b.c.cancel();
    await new Promise((r) => setTimeout(r, 40));
    assert.deepEqual(b.log, []);
  });
});

let netns: Netns | undefined;
const env = useEnv(() => [], {
  enter: async () => (netns = await createNetns("switch")).exec,
  leave: async () => netns?.destroy(),
});

function ready(): { env: Env; netns: Netns } {
  if (!netns) throw new Error("the namespace did not start");
  return { env: env(), netns };
}

interface SwitchView {
  transport: string | undefined;
  probing: boolean;
  switches: { to: string; reason: string; controlKept?: boolean }[];
  control: { holder: string | null | undefined; mine: boolean };
  peerId: string | undefined;
}

const switchView = (page: Page): Promise<SwitchView> =>
  page.evaluate(`(() => {
    const t = globalThis.tessera;
    return { transport: t.transport, probing: t.probing, switches: JSON.parse(JSON.stringify(t.switches)), control: { ...t.control }, peerId: t.peerId };
  })()`);

test("UDP blocked mid-session: the viewer moves to the WebSocket stream keeping control, and back to WebRTC when UDP returns", { timeout: 150_000 }, (t) =>
  withPages(t, ready().env, async (pages) => {
    const { netns } = ready();
    // The built-in test device publishes inside the server: blocking UDP cuts only the viewer's WebRTC.
    const viewer = await pages.viewer("test", "switching-viewer", { transport: "auto" });
    await framesAdvance(viewer, 10, 20_000);
    await viewer.click("#control-toggle");
    await viewer.waitForSelector('#player[data-control="self"]', { timeout: 10_000 });
    const before = await switchView(viewer);
    assert.equal(before.transport, "webrtc");
    assert.equal(before.control.holder, before.peerId);

    await viewer.evaluate(`(() => {
      const pc = globalThis.tessera.pc;
      globalThis.pcLog = [];
      const t0 = performance.now();
      pc.addEventListener("connectionstatechange", () => globalThis.pcLog.push("pc " + pc.connectionState + " " + Math.round(performance.now() - t0)));
      pc.addEventListener("iceconnectionstatechange", () => globalThis.pcLog.push("ice " + pc.iceConnectionState + " " + Math.round(performance.now() - t0)));
    })()`);
    dropUdp(netns, 100);
    try {
      const t0 = Date.now();
      await viewer.waitForSelector('#player[data-transport^="ws_"]', { state: "attached", timeout: 30_000 });
      const movedMs = Date.now() - t0;
      await canvasMoves(viewer);
      const onWs = await waitFor("control to move to the fallback socket", async () => {
        const v = await switchView(viewer);
        return v.switches.at(-1)?.controlKept !== undefined ? v : undefined;
      });
      const fb = (await viewerState(viewer)).fallback;
      t.diagnostic(`the browser's own connection states before the switch: ${JSON.stringify(await viewer.evaluate("globalThis.pcLog"))}`);
      t.diagnostic(
        `UDP blocked: on ${onWs.transport} after ${movedMs} ms; switches ${JSON.stringify(onWs.switches)}; ${droppedUdp(netns)} UDP packets dropped`,
      );
      assert.ok(["lost", "stalled", "not_connected", "failed"].includes(fb?.reason ?? ""), `reason ${fb?.reason}`);
      assert.equal(onWs.switches.at(-1)?.controlKept, true, "control moved with the page");
      assert.equal(onWs.control.holder, fb?.peerId, "the fallback socket holds control");
      assert.equal(await viewer.getAttribute("#player", "data-control"), "self");
      assert.match((await viewer.getAttribute("#player", "data-switched")) ?? "", /^ws_(jpeg|h264):/);

      // A probe while UDP is still blocked fails, and the page stays on the stream.
      await waitFor("a WebRTC probe to start", async () => ((await switchView(viewer)).probing ? true : undefined), { timeoutMs: 30_000 });
      await waitFor("the probe to fail", async () => (!(await switchView(viewer)).probing ? true : undefined), { timeoutMs: 30_000 });
      assert.match((await switchView(viewer)).transport ?? "", /^ws_/, "a failed probe changes nothing");
    } finally {
      dropUdp(netns, 0);
    }

    // The next probe (20 s after the failed one) passes.
    const t1 = Date.now();
    await viewer.waitForSelector('#player[data-transport="webrtc"]', { state: "attached", timeout: 60_000 });
    const backMs = Date.now() - t1;
    await framesAdvance(viewer, 10, 15_000);
    const back = await waitFor("control to move back to signaling", async () => {
      const v = await switchView(viewer);
      return v.switches.at(-1)?.to === "webrtc" && v.switches.at(-1)?.controlKept !== undefined ? v : undefined;
    });
    t.diagnostic(`UDP let through: back on WebRTC after ${backMs} ms; switches ${JSON.stringify(back.switches)}`);
    assert.equal(back.switches.at(-1)?.reason, "probe");
    assert.equal(back.switches.at(-1)?.controlKept, true);
    assert.equal(back.control.holder, back.peerId, "the signaling peer holds control again");
    assert.equal(await viewer.getAttribute("#player", "data-control"), "self");
    assert.equal(await viewer.getAttribute("#player", "data-switched"), "webrtc:probe");
    assert.equal((await viewerState(viewer)).fallback, null, "the fallback socket is closed");
  }),
);

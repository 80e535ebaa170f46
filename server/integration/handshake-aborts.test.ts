/**
 * Peers that go away in the middle of setting up: a device whose socket
 * closes between its offer and the end of ICE (before the answer, or after
 * it), and a viewer that leaves while its connection is still checking. The
 * server must give back every peer connection, werift listener, limit lease
 * and viewer count, raise nothing unhandled, and serve the next device under
 * the same id as if nothing happened.
 */
import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import { SignalingClient, waitFor, waitForAsync } from "../../e2e/lib/signaling-client.js";
import { WeriftDevice, WeriftViewer, weriftOffer } from "../../e2e/lib/werift-peers.js";
import { rtcCensus } from "../rtc/census.js";
import { startServer, type Running } from "./fixture.js";

/** What the server holds that must come back: peer connections by role, werift listeners, limit leases (`tessera_limit_in_use`). */
async function holdings(server: Running): Promise<Record<string, number>> {
  const { peers, listeners } = rtcCensus();
  const text = await server.app.metrics.text();
  const inUse = Object.fromEntries([...text.matchAll(/^tessera_limit_in_use\{limit="([^"]+)"\} (\d+)/gm)].map((m) => [`in_use:${m[1]}`, Number(m[2])]));
  return { ...Object.fromEntries([...peers].map(([role, n]) => [`peers:${role}`, n])), listeners, ...inUse };
}

/** Waits until every holding is back at `base`, naming the ones that are not. */
async function backTo(server: Running, base: Record<string, number>, what: string): Promise<void> {
  let now: Record<string, number> = {};
  try {
    await waitForAsync(
      async () => {
        now = await holdings(server);
        return Object.entries(base).every(([k, v]) => now[k] === v);
      },
      15_000,
      what,
    );
  } catch (err) {
    assert.fail(`${(err as Error).message}: holdings ${JSON.stringify(now)}, expected ${JSON.stringify(base)}`);
  }
}

describe("peers leaving in the middle of the handshake", () => {
  let server: Running;
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);
  const open: Array<{ close(): unknown }> = [];

  before(async () => {
    process.on("unhandledRejection", onRejection);
    server = await startServer();
  });

  afterEach(async () => {
    for (const o of open.splice(0)) await o.close();
    // Each test starts from a server holding nothing.
    const zero = Object.fromEntries(Object.keys(await holdings(server)).map((k) => [k, 0]));
    await backTo(server, zero, "everything closed after the test");
    assert.deepEqual(rejections, [], "no unhandled rejection");
  });

  after(async () => {
    await server?.stop();
    process.off("unhandledRejection", onRejection);
  });

  /** A device's hello, and its offer from a peer connection that will never answer a connectivity check. */
  async function deviceOffering(id: string): Promise<SignalingClient> {
    const ws = await SignalingClient.connect(server.wsUrl);
    ws.send({ type: "hello", role: "device", protocol: 1, device: { id, name: id, kind: "test" } });
    await ws.next("welcome");
    ws.send({ type: "offer", sdp: await weriftOffer() });
    return ws;
  }

  test("a device whose socket closes right after its offer leaves nothing behind, and its id publishes again", async () => {
    const base = await holdings(server);
    for (let i = 0; i < 5; i++) {
      const ws = await deviceOffering("vanishing");
      ws.ws.close();
      await ws.closed();
    }
    await backTo(server, base, "after 5 offers abandoned at once");
    const device = await WeriftDevice.publish(server.wsUrl, { id: "vanishing" });
    open.push(device);
    const viewer = await WeriftViewer.connect(server.wsUrl);
    open.push(viewer);
    viewer.watch("vanishing");
    const stream = await waitFor(() => viewer.streams.get("vanishing"), 5000, "offer to the viewer");
    await waitFor(() => stream.videoPackets > 20, 10_000, "video from the device that came back");
  });

  test("a device whose socket closes after the answer, while ICE is still checking, leaves nothing behind", async () => {
    const base = await holdings(server);
    for (let i = 0; i < 5; i++) {
      const ws = await deviceOffering(`checking-${i}`);
      await ws.next("answer");
      // The server's peer is now checking candidates that will never answer.
      assert.equal(server.app.registry.get("local", `checking-${i}`)?.online ?? false, false, "not online before its media flows");
      ws.ws.close();
      await ws.closed();
    }
    await backTo(server, base, "after 5 devices gone mid-ICE");
    for (let i = 0; i < 5; i++) assert.equal(server.app.registry.get("local", `checking-${i}`)?.online ?? false, false);
  });

  test("viewers leaving before they answer, and right after, give back their seats, peers and leases; the device's other viewer keeps playing", async () => {
    const device = await WeriftDevice.publish(server.wsUrl, { id: "cam" });
    open.push(device);
    await waitFor(() => server.app.registry.get("local", "cam")?.online, 10_000, "device online");
    const staying = await WeriftViewer.connect(server.wsUrl);
    open.push(staying);
    staying.watch("cam");
    const kept = await waitFor(() => staying.streams.get("cam"), 5000, "the staying viewer's offer");
    await waitFor(() => kept.videoPackets > 0, 10_000, "video at the staying viewer");
    const base = await holdings(server);

    // Never answers: leaves with the offer in hand.
    for (let i = 0; i < 5; i++) {
      const ws = await SignalingClient.connect(server.wsUrl);
      ws.send({ type: "hello", role: "viewer", protocol: 1 });
      await ws.next("welcome");
      ws.send({ type: "watch", deviceId: "cam" });
      await ws.next("offer");
      ws.ws.close();
      await ws.closed();
    }
    // Answers, and leaves while its connection is still checking.
    for (let i = 0; i < 5; i++) {
      const viewer = await WeriftViewer.connect(server.wsUrl);
      let left: Promise<void> | undefined;
      const send = viewer.signaling.send.bind(viewer.signaling);
      viewer.signaling.send = (message: object | string) => {
        send(message);
        // The moment the answer is out: the server's peer starts checking and finds nobody.
        if (typeof message === "object" && (message as { type?: string }).type === "answer") left = viewer.close();
      };
      viewer.watch("cam");
      await waitFor(() => left, 5000, "answered and left");
      await left;
    }
    await backTo(server, base, "after 10 viewers gone mid-handshake");
    await waitFor(() => server.app.registry.get("local", "cam")?.viewers === 1, 5000, "one viewer counted");
    const packets = kept.videoPackets;
    await waitFor(() => kept.videoPackets > packets + 30, 10_000, "the staying viewer still plays");
  });
});

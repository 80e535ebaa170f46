/**
 * The limits against a running server: each counted resource refused with
 * `limit` past its account's or the node's limit (HTTP 429/503, close code
 * 4429), counted in metrics, and free again once what held it ends.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { FallbackClient } from "../../e2e/lib/fallback-client.js";
import { testJpeg } from "../../e2e/lib/jpeg-fixture.js";
import { SignalingClient, waitFor, waitForAsync } from "../../e2e/lib/signaling-client.js";
import { weriftOffer } from "../../e2e/lib/werift-peers.js";
import { ACCOUNT_LIMIT_DEFAULTS, NODE_LIMIT_DEFAULTS } from "../limits.js";
import { CLOSE_CODES } from "../protocol/messages.js";
import { startServer, type Running } from "./fixture.js";

const JPEG = testJpeg(64, 48);

/** Says hello as device `id`; resolves with the client once welcomed or refused (then closed). */
async function deviceHello(server: Running, id: string): Promise<SignalingClient> {
  const c = await SignalingClient.connect(server.wsUrl);
  c.send({ type: "hello", role: "device", protocol: 1, device: { id } });
  await waitFor(() => c.received.find((m) => m.type === "welcome" || m.type === "error"), 5000, `device ${id} welcomed or refused`);
  return c;
}

const push = (server: Running, id: string) =>
  fetch(`${server.httpUrl}/api/devices/${id}/frames`, { method: "POST", headers: { "Content-Type": "image/jpeg" }, body: JPEG });

/** The value of one metric series in the server's exposition (0 when absent). */
async function metric(server: Running, series: string): Promise<number> {
  const line = (await server.app.metrics.text()).split("\n").find((l) => l.startsWith(`${series} `));
  return line ? Number(line.split(" ")[1]) : 0;
}

describe("limits", () => {
  const servers: Running[] = [];
  const closers: Array<() => unknown> = [];
  after(async () => {
    for (const c of closers) await c();
    for (const s of servers) await s.stop();
  });

  test("an account's devices, pushed frames per second and fallback viewers", async () => {
    const server = await startServer({
      accountLimits: { ...ACCOUNT_LIMIT_DEFAULTS, devices: 2, frames: 5, "fallback-viewers": 1 },
    });
    servers.push(server);
    const first = await deviceHello(server, "cam1");
    closers.push(() => first.close());
    assert.ok(first.received.some((m) => m.type === "welcome"));
    // The frame device is the account's second device.
    const pushed = await push(server, "frames1");
    assert.equal(pushed.status, 201, await pushed.text());

    const third = await deviceHello(server, "cam3");
    const refused = third.received.find((m) => m.type === "error");
    assert.equal(refused?.type === "error" && refused.code, "limit");
    assert.match(refused?.type === "error" ? refused.message : "", /at most 2 devices/);
    assert.equal(await third.closed(), CLOSE_CODES.limit);
    const pushElsewhere = await push(server, "frames2");
    assert.equal(pushElsewhere.status, 429);
    assert.equal(((await pushElsewhere.json()) as { error: { code: string } }).error.code, "limit");

    // The first device leaves: its place is free for another.
    first.close();
    await first.closed();
    const fourth = await deviceHello(server, "cam4");
    closers.push(() => fourth.close());
    assert.ok(
      fourth.received.some((m) => m.type === "welcome"),
      JSON.stringify(fourth.received),
    );

    // Five frames a second: a burst of ten gets at most five (plus what refilled meanwhile) through.
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await push(server, "frames1")).status);
    const limited = statuses.filter((s) => s === 429).length;
    assert.ok(limited >= 3 && statuses.every((s) => s === 201 || s === 429), `statuses ${statuses.join(",")}`);
    const late = await waitForAsync(
      async () => {
        const res = await push(server, "frames1");
        return res.status === 201 && res;
      },
      5000,
      "a push accepted again after the refill",
    );
    assert.ok(late);

    // One fallback viewer for the account; the second is refused until the first leaves.
    const url = `${server.httpUrl.replace("http", "ws")}/ws/stream/frames1?codec=jpeg`;
    const viewer1 = new FallbackClient(url);
    closers.push(() => viewer1.close());
    await waitFor(() => viewer1.texts.find((t) => t.type === "ready"), 5000, "first fallback viewer ready");
    const viewer2 = new FallbackClient(url);
    await waitFor(() => viewer2.closeCode, 5000, "second fallback viewer closed");
    assert.equal(viewer2.closeCode, CLOSE_CODES.limit);
    assert.equal(viewer2.texts.find((t) => t.type === "error")?.code, "limit");
    viewer1.close();
    await waitFor(() => viewer1.closeCode, 5000, "first fallback viewer closed");
    const viewer3 = new FallbackClient(url);
    closers.push(() => viewer3.close());
    await waitFor(() => viewer3.texts.find((t) => t.type === "ready"), 5000, "a fallback viewer ready once the first left");

    assert.equal(await metric(server, 'tessera_limit_refusals_total{limit="devices",scope="account"}'), 2);
    assert.ok((await metric(server, 'tessera_limit_refusals_total{limit="frames",scope="account"}')) >= 3);
    assert.equal(await metric(server, 'tessera_limit_refusals_total{limit="fallback-viewers",scope="account"}'), 1);
    assert.equal(await metric(server, 'tessera_limit_in_use{limit="fallback-viewers"}'), 1);
    // Pushes refused: by the rate, and the one that would have made a third device.
    assert.equal(
      await metric(server, 'tessera_frames_pushed_total{result="limit"}'),
      (await metric(server, 'tessera_limit_refusals_total{limit="frames",scope="account"}')) + 1,
    );
  });

  test("the node's WebRTC viewers, WHIP sessions and pipelines", async () => {
    const server = await startServer({ limits: { ...NODE_LIMIT_DEFAULTS, viewers: 1, whip: 1, pipelines: 2 } });
    servers.push(server);
    for (const id of ["a", "b"]) assert.equal((await push(server, id)).status, 201);

    // Viewers: one watch at a time over the whole node.
    const viewer = await SignalingClient.connect(server.wsUrl);
    closers.push(() => viewer.close());
    viewer.send({ type: "hello", role: "viewer", protocol: 1 });
    await viewer.next("welcome");
    viewer.send({ type: "watch", deviceId: "a" });
    await viewer.next("offer", (m) => m.deviceId === "a");
    viewer.send({ type: "watch", deviceId: "b" });
    const refused = await viewer.next("error", (m) => m.code === "limit");
    assert.equal(refused.ref, "watch");
    assert.match(refused.message, /server is at its limit of 1 viewers/);
    viewer.send({ type: "unwatch", deviceId: "a" });
    viewer.send({ type: "watch", deviceId: "b" });
    await viewer.next("offer", (m) => m.deviceId === "b");
    assert.equal(viewer.closeCode, undefined, "a refused watch leaves the connection open");

    // WHIP: one session; the next is 503 with Retry-After until it is deleted.
    const offer = await weriftOffer();
    const post = (id: string) => fetch(`${server.httpUrl}/whip/${id}`, { method: "POST", headers: { "Content-Type": "application/sdp" }, body: offer });
    const created = await post("w1");
    assert.equal(created.status, 201, await created.text());
    const location = created.headers.get("location")!;
    const second = await post("w2");
    assert.equal(second.status, 503);
    assert.equal(second.headers.get("retry-after"), "5");
    assert.equal(((await second.json()) as { error: { code: string } }).error.code, "limit");
    assert.equal((await fetch(`${server.httpUrl}${location}`, { method: "DELETE" })).status, 200);
    const again = await post("w2");
    assert.equal(again.status, 201, await again.text());
    closers.push(() => fetch(`${server.httpUrl}${again.headers.get("location")}`, { method: "DELETE" }));

    // Pipelines: a JPEG fallback viewer of `a` starts two (its decoder and its stripe encoders); an H.264 one would need a third.
    const stream = (codec: string) => `${server.httpUrl.replace("http", "ws")}/ws/stream/a?codec=${codec}`;
    const jpegViewer = new FallbackClient(stream("jpeg"));
    closers.push(() => jpegViewer.close());
    await waitFor(() => jpegViewer.stripes.length > 0 && jpegViewer, 10_000, "stripes for the JPEG viewer");
    assert.equal(await metric(server, 'tessera_limit_in_use{limit="pipelines"}'), 2);
    const h264Viewer = new FallbackClient(stream("h264"));
    await waitFor(() => h264Viewer.closeCode, 5000, "the H.264 viewer refused");
    assert.equal(h264Viewer.closeCode, CLOSE_CODES.limit);
    assert.match(String(h264Viewer.texts.find((t) => t.type === "error")?.message), /limit of 2 pipelines/);
    jpegViewer.close();
    await waitForAsync(async () => (await metric(server, 'tessera_limit_in_use{limit="pipelines"}')) === 0, 5000, "pipelines given back");
    const h264Again = new FallbackClient(stream("h264"));
    closers.push(() => h264Again.close());
    await waitFor(() => h264Again.stripes.length > 0 && h264Again, 10_000, "stripes for an H.264 viewer once the JPEG one left");

    assert.equal(await metric(server, 'tessera_limit_refusals_total{limit="viewers",scope="node"}'), 1);
    assert.equal(await metric(server, 'tessera_limit_refusals_total{limit="whip",scope="node"}'), 1);
    assert.equal(await metric(server, 'tessera_limit_refusals_total{limit="pipelines",scope="node"}'), 1);
  });

  test("everything given back: once every client left, only the frame devices (online until 30 s without a push) are in use", async () => {
    for (const c of closers.splice(0)) await c();
    for (const [server, frameDevices] of [
      [servers[0], 1],
      [servers[1], 2],
    ] as const) {
      await waitForAsync(
        async () => {
          const text = await server.app.metrics.text();
          const inUse = text.split("\n").filter((l) => l.startsWith("tessera_limit_in_use{"));
          const expected = inUse.map((l) => (l.startsWith('tessera_limit_in_use{limit="devices"}') ? ` ${frameDevices}` : " 0"));
          return inUse.length === 5 && inUse.every((l, i) => l.endsWith(expected[i])) && inUse;
        },
        10_000,
        "every limit given back",
      );
    }
  });
});

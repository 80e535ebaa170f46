/**
 * Three Tessera processes sharing a real redis-server on loopback: a device
 * held by one node plays on the others through relay legs; nodes that die or
 * lose Redis behave as docs/cluster.md says.
 */
import assert from "node:assert/strict";
import { after, afterEach, before, test } from "node:test";
import { WebSocket } from "ws";
import { inspectJpeg } from "../server/frames/jpeg.js";
import { FallbackClient } from "./lib/fallback-client.js";
import { testJpeg } from "./lib/jpeg-fixture.js";
import { RedisServer } from "./lib/redis.js";
import { SignalingClient, waitForAsync } from "./lib/signaling-client.js";
import type { KeyInfo } from "../server/keys/device-keys.js";
import { WeriftDevice, WeriftViewer } from "./lib/werift-peers.js";
import { devicePublishing, framesAdvance, launchBrowser, Pages, readMetric, startServer, viewerState, type TestServer } from "./harness.js";
import { NODE_TTL_MS } from "../server/cluster/cluster.js";

let redis: RedisServer;
const nodes: TestServer[] = [];
const opened: { close(): Promise<void> }[] = [];

/** The node's `/ws`. */
const ws = (node: TestServer) => `${node.url.replace(/^http/, "ws")}ws`;

/** The devices a node lists (every node serves the one local account here: `--auth none`). */
async function listed(node: TestServer): Promise<{ id: string; online: boolean; viewers: number }[]> {
  return ((await (await fetch(`${node.url}api/devices`)).json()) as { devices: { id: string; online: boolean; viewers: number }[] }).devices;
}

/** Waits until `node` lists `id` online (a node learns of another's device through Redis). */
async function listedOnline(node: TestServer, id: string): Promise<void> {
  await waitForAsync(async () => (await listed(node)).find((d) => d.id === id && d.online), 10_000, `${id} listed online on ${node.url}`);
}

async function startNode(): Promise<TestServer> {
  const node = await startServer({ args: ["--redis", redis.url, "--source", "none"] });
  nodes.push(node);
  return node;
}

/** A werift viewer on `node` watching `id`, decoding what arrives. */
async function watch(node: TestServer, id: string): Promise<WeriftViewer> {
  const viewer = await WeriftViewer.connect(ws(node), { decode: true });
  opened.push(viewer);
  viewer.watch(id);
  return viewer;
}

/** Waits until `viewer` has decoded `count` more frames of `id` than it had. */
async function decodes(viewer: WeriftViewer, id: string, count: number, timeoutMs = 20_000): Promise<void> {
  const start = viewer.streams.get(id)?.decodedFrames ?? 0;
  await waitForAsync(async () => (viewer.streams.get(id)?.decodedFrames ?? 0) >= start + count, timeoutMs, `${count} frames of ${id}`);
}

/** A device hello on `node` presenting `key`: "welcome", or the close code and error code of the refusal. */
async function helloWithKey(
  node: TestServer,
  key: string,
  id: string,
): Promise<{ client: SignalingClient; outcome: "welcome" | { close: number; code?: string } }> {
  const client = await SignalingClient.connect(ws(node));
  opened.push({ close: async () => client.close() });
  client.send({ type: "hello", role: "device", protocol: 1, key, device: { id } });
  const outcome = await Promise.race([
    client.next("welcome").then(() => "welcome" as const),
    client.closed().then((close) => ({ close, code: client.received.find((m) => m.type === "error")?.code as string | undefined })),
  ]);
  return { client, outcome };
}

/** Key `id` as `node` lists it. */
async function keyOn(node: TestServer, id: string): Promise<KeyInfo | undefined> {
  return ((await (await fetch(`${node.url}api/keys`)).json()) as { keys: KeyInfo[] }).keys.find((k) => k.id === id);
}

before(async () => {
  redis = await RedisServer.start();
  await Promise.all([startNode(), startNode(), startNode()]);
});
// Each test's peers go when it ends: their encoders and decoders would load the machine for the next.
afterEach(async () => {
  for (const o of opened.splice(0).reverse()) await o.close().catch(() => undefined);
});
after(async () => {
  for (const n of nodes) await n.close();
  await redis.close();
});

test(
  "a device held by node A plays on nodes B and C, one relay leg per node however many watch; its fallback stream and frame.jpg elsewhere",
  { timeout: 90_000 },
  async () => {
    const [a, b, c] = nodes;
    const device = await WeriftDevice.publish(ws(a), { id: "cam-a", name: "Camera A" });
    opened.push(device);
    await Promise.all([listedOnline(b, "cam-a"), listedOnline(c, "cam-a")]);
    assert.equal(await readMetric(b, "tessera_cluster_legs_open"), 0, "no leg before anyone watches");
    const onB = await watch(b, "cam-a");
    const onB2 = await watch(b, "cam-a");
    const onC = await watch(c, "cam-a");
    await Promise.all([decodes(onB, "cam-a", 20), decodes(onB2, "cam-a", 20), decodes(onC, "cam-a", 20)]);
    assert.equal(await readMetric(b, "tessera_cluster_legs_open"), 1, "two viewers on B share one leg");
    assert.equal(await readMetric(c, "tessera_cluster_legs_open"), 1);
    assert.equal(await readMetric(a, "tessera_cluster_nodes"), 3);
    // The local account of --auth none is the admin: B shows every node, with A holding the device.
    const view = (await (await fetch(`${b.url}api/cluster`)).json()) as { redis: string; nodes: { url: string; devices: number }[]; legs: number };
    assert.equal(view.redis, "up");
    assert.equal(view.nodes.length, 3);
    assert.equal(view.nodes.find((n) => a.url.startsWith(n.url))?.devices, 1);
    assert.equal(view.legs, 1);
    // Node A sees two viewers of its device: the legs of B and C.
    const onA = (await listed(a)).find((d) => d.id === "cam-a");
    assert.equal(onA?.viewers, 2);
    // The last viewer on B leaves: B's leg closes; C plays on.
    await onB.close();
    await onB2.close();
    await waitForAsync(async () => (await readMetric(b, "tessera_cluster_legs_open")) === 0, 10_000, "B's leg closed");
    await decodes(onC, "cam-a", 10);
    // A WebSocket fallback viewer on B: its stream is built on B, from a leg opened again for it.
    const stream = new FallbackClient(`${ws(b)}/stream/cam-a?codec=jpeg`);
    opened.push({ close: async () => stream.close() });
    await waitForAsync(async () => new Set(stream.stripes.map((s) => s.stripe.frameId)).size >= 5, 20_000, "5 fallback frames on B");
    assert.equal(await readMetric(b, "tessera_cluster_legs_open"), 1);
    // Its latest picture: decoded on its node A, served by C.
    const frame = await fetch(`${c.url}api/devices/cam-a/frame.jpg`);
    assert.equal(frame.status, 200);
    assert.equal(frame.headers.get("content-type"), "image/jpeg");
    const verdict = inspectJpeg(Buffer.from(await frame.arrayBuffer()));
    assert.ok(verdict.ok && verdict.width === 1280 && verdict.height === 720, JSON.stringify(verdict));
  },
);

test("Chromium: a device page on node A plays in viewer pages on nodes B and C", { timeout: 90_000 }, async (t) => {
  const [a, b, c] = nodes;
  const browser = await launchBrowser();
  opened.push({ close: () => browser.close() });
  const [pagesA, pagesB, pagesC] = [a, b, c].map((server) => new Pages({ server, browser }));
  opened.push(pagesA, pagesB, pagesC);
  const device = await pagesA.device("chromium-cam", "Chromium camera");
  await devicePublishing(device);
  await Promise.all([listedOnline(b, "chromium-cam"), listedOnline(c, "chromium-cam")]);
  const [viewerB, viewerC] = await Promise.all([pagesB.viewer("chromium-cam", "viewer on B"), pagesC.viewer("chromium-cam", "viewer on C")]);
  try {
    for (const [name, page] of [
      ["B", viewerB],
      ["C", viewerC],
    ] as const) {
      const { ms, width, height } = await framesAdvance(page, 30, 20_000);
      t.diagnostic(`viewer on ${name}: 30 frames in ${ms} ms, ${width}x${height}`);
    }
  } catch (err) {
    // Each node's pages and log: which viewer stalled, and what its page and node saw.
    for (const [name, pages, viewer] of [
      ["A", pagesA, undefined],
      ["B", pagesB, viewerB],
      ["C", pagesC, viewerC],
    ] as const) {
      const state = viewer ? JSON.stringify(await viewerState(viewer).catch((e: unknown) => String(e))) : "(the device's node)";
      t.diagnostic(`=== node ${name}: viewer state ${state}\n${pages.report()}`);
    }
    throw err;
  }
});

test("frames: a JPEG pushed to node A is the frame.jpg, the snapshot and the pull on node C", { timeout: 60_000 }, async () => {
  const [a, , c] = nodes;
  const jpeg = testJpeg(320, 240);
  const pushed = await fetch(`${a.url}api/devices/pic/frames`, { method: "POST", body: jpeg, headers: { "Content-Type": "image/jpeg" } });
  assert.equal(pushed.status, 201);
  await listedOnline(c, "pic");
  const onC = await fetch(`${c.url}api/devices/pic/frame.jpg`);
  assert.equal(onC.status, 200);
  assert.deepEqual(Buffer.from(await onC.arrayBuffer()), jpeg, "the very frame pushed to A");
  const snapshot = await fetch(`${c.url}api/devices/pic/snapshots`, { method: "POST" });
  assert.equal(snapshot.status, 201);
  const { url } = (await snapshot.json()) as { url: string };
  assert.deepEqual(Buffer.from(await (await fetch(url)).arrayBuffer()), jpeg, "C's signed snapshot URL serves it");
  // Behind one address any node may be asked: A has no such file and asks the others.
  const onA = new URL(new URL(url).pathname + new URL(url).search, a.url);
  const fromA = await fetch(onA);
  assert.equal(fromA.status, 200);
  assert.deepEqual(Buffer.from(await fromA.arrayBuffer()), jpeg, "the same snapshot through node A");
  onA.searchParams.set("sig", "A".repeat(43));
  assert.equal((await fetch(onA)).status, 403, "a bad signature is refused before any node is asked");
  const pull = new WebSocket(`${ws(c)}/stream/pic?mode=pull`);
  opened.push({ close: async () => pull.close() });
  const pulled = new Promise<Buffer>((resolve) => pull.on("message", (data, binary) => binary && resolve(data as Buffer)));
  await new Promise((resolve) => pull.once("open", resolve));
  pull.send(JSON.stringify({ type: "hello" }));
  pull.send(JSON.stringify({ action: "pull" }));
  assert.deepEqual(await pulled, jpeg, "a pull on C gets it");
});

test(
  "control across nodes: held on B, asked from C, handed over; C's lines reach the device on A in order, and its state reaches C",
  { timeout: 90_000 },
  async () => {
    const [a, b, c] = nodes;
    const device = await WeriftDevice.publish(ws(a), { id: "board", name: "Board", dataChannel: true, source: { width: 320, height: 240 } });
    opened.push(device);
    await device.sendMessage({ type: "resolution", width: 1280, height: 720 });
    await Promise.all([listedOnline(b, "board"), listedOnline(c, "board")]);
    const [onB, onC] = await Promise.all([WeriftViewer.connect(ws(b)), WeriftViewer.connect(ws(c))]);
    opened.push(onB, onC);
    onB.watch("board");
    onC.watch("board");
    const inputOf = (v: WeriftViewer) =>
      waitForAsync(async () => (v.streams.get("board")?.input?.readyState === "open" ? v.streams.get("board")?.input : undefined), 15_000, "input channel");
    const [inB, inC] = await Promise.all([inputOf(onB), inputOf(onC)]);
    const bId = (await onB.signaling.next("welcome")).peerId;
    const cId = (await onC.signaling.next("welcome")).peerId;
    onB.signaling.send({ type: "control", action: "request", deviceId: "board" });
    await onB.signaling.next("control", (m) => m.holder === bId);
    // C sees B's viewer hold it; asking gets busy while B's viewer is asked.
    await onC.signaling.next("control", (m) => m.holder === bId);
    const markB = onB.signaling.received.length;
    const markC = onC.signaling.received.length;
    onC.signaling.send({ type: "control", action: "request", deviceId: "board" });
    assert.equal((await onC.signaling.next("error", (m) => m.ref === "control", 5000, markC)).code, "busy");
    const ask = await onB.signaling.next("control_request", () => true, 5000, markB);
    assert.equal(ask.from, cId);
    onB.signaling.send({ type: "control", action: "hand_over", deviceId: "board", to: cId });
    await onC.signaling.next("control", (m) => m.holder === cId, 5000, markC);
    await onB.signaling.next("control", (m) => m.holder === cId, 5000, markB);
    const before = device.inputLines.length;
    const sentBefore = await readMetric(c, "tessera_cluster_input_lines_total");
    inB.send("kd,66"); // no longer the holder: dropped
    const lines = Array.from({ length: 40 }, (_, i) => `m,${10 + i},${20 + i},0,0`);
    for (const line of lines) inC.send(line);
    await waitForAsync(async () => device.inputLines.filter((l) => l.startsWith("m,")).length >= lines.length, 10_000, "C's lines at the device");
    assert.deepEqual(
      device.inputLines.slice(before).filter((l) => l !== "kr"),
      lines,
      "every line of C's holder, in order, and nothing of B's",
    );
    assert.ok((await readMetric(c, "tessera_cluster_input_lines_total")) >= sentBefore + lines.length, "C counts the lines it sent over its leg");
    await device.sendMessage({ type: "state", leds: [true], battery: 0.5 });
    await waitForAsync(async () => onC.streams.get("board")?.inputMessages.some((m) => m.includes('"battery":0.5')), 5000, "the device's state on C");
    // Released on C: free everywhere.
    onC.signaling.send({ type: "control", action: "release", deviceId: "board" });
    await onB.signaling.next("control", (m) => m.holder === null, 5000, markB);
  },
);

test("a device relayed to node B that then connects to B itself is B's own there: the leg closes and B's viewer plays on", { timeout: 60_000 }, async () => {
  const [a, b] = nodes;
  const onA = await WeriftDevice.publish(ws(a), { id: "cam-both", name: "Both" });
  opened.push(onA);
  await listedOnline(b, "cam-both");
  const viewer = await watch(b, "cam-both");
  await decodes(viewer, "cam-both", 10);
  assert.equal(await readMetric(b, "tessera_cluster_legs_open"), 1);
  const onB = await WeriftDevice.publish(ws(b), { id: "cam-both", name: "Both" });
  opened.push(onB);
  await waitForAsync(async () => (await readMetric(b, "tessera_cluster_legs_open")) === 0, 10_000, "B's leg closed");
  await decodes(viewer, "cam-both", 20);
  assert.equal(await readMetric(b, "tessera_cluster_legs_open"), 0, "the leg did not come back to take the device over");
  assert.ok(onB.packetsSent > 0);
});

test(
  "device keys: a key made on A works on every node; held on A it is busy on C; the same device moving to B takes it over; released on C, revoked on B",
  { timeout: 60_000 },
  async () => {
    const [a, b, c] = nodes;
    const made = await fetch(`${a.url}api/keys`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ label: "roaming" }),
    });
    assert.equal(made.status, 201);
    const { id, key } = (await made.json()) as KeyInfo & { key: string };
    const first = await helloWithKey(a, key, "kc-1");
    assert.equal(first.outcome, "welcome");

    assert.deepEqual((await helloWithKey(c, key, "kc-2")).outcome, { close: 4409, code: "busy" }, "another device on C");
    const push = await fetch(`${c.url}api/devices/kc-2/frames`, {
      method: "POST",
      headers: { Authorization: `Bearer ${key}`, "Content-Type": "image/jpeg" },
      body: testJpeg(64, 48),
    });
    assert.equal(push.status, 409, "a frame push to C as another device");
    const listedOnC = await keyOn(c, id);
    assert.equal(listedOnC?.state, "reserved", "C lists A's reservation");
    assert.equal(listedOnC?.reservedBy, "kc-1");

    // The same device connecting to B (a reconnect landing elsewhere) takes its key over; A lets its old connection go.
    const moved = await helloWithKey(b, key, "kc-1");
    assert.equal(moved.outcome, "welcome");
    assert.equal(await first.client.closed(), 4409);

    // Released from C: B's connection goes, and the key is free everywhere.
    assert.equal((await fetch(`${c.url}api/keys/${id}/release`, { method: "POST" })).status, 200);
    assert.equal(await moved.client.closed(), 4410);
    await waitForAsync(async () => (await keyOn(a, id))?.state === "free", 5000, "the key free on A");
    const onC = await helloWithKey(c, key, "kc-2");
    assert.equal(onC.outcome, "welcome", "C's device may use it now");

    // Revoked from B: C's connection goes, and no node takes the key again.
    assert.equal((await fetch(`${b.url}api/keys/${id}`, { method: "DELETE" })).status, 200);
    assert.equal(await onC.client.closed(), 4403);
    await waitForAsync(async () => (await keyOn(a, id))?.state === "revoked", 5000, "the key revoked on A");
    assert.deepEqual((await helloWithKey(a, key, "kc-3")).outcome, { close: 4401, code: "unauthorized" });
  },
);

test(
  "node A dies: its device leaves every listing within the TTL, reconnects to node B and plays on C again without a new watch; A's key reservations end",
  { timeout: 90_000 },
  async () => {
    const [a, b, c] = nodes;
    const device = await WeriftDevice.publish(ws(a), { id: "cam-move", name: "Moving camera" });
    opened.push(device);
    const made = await fetch(`${b.url}api/keys`, { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
    const { id: keyId, key } = (await made.json()) as KeyInfo & { key: string };
    assert.equal((await helloWithKey(a, key, "kd-1")).outcome, "welcome");
    assert.equal((await keyOn(c, keyId))?.reservedBy, "kd-1");
    await listedOnline(c, "cam-move");
    const onC = await watch(c, "cam-move");
    await decodes(onC, "cam-move", 10);
    const killedAt = Date.now();
    await a.close("SIGKILL");
    await device.close();
    await waitForAsync(async () => !(await listed(c)).find((d) => d.id === "cam-move")?.online, NODE_TTL_MS + 4000, "cam-move offline on C");
    const gone = Date.now() - killedAt;
    // The TTL, plus up to one heartbeat for C to read the directory again.
    assert.ok(gone <= NODE_TTL_MS + NODE_TTL_MS / 3 + 1000, `listed for ${gone} ms after node A died`);
    // Its holds expired with it: another device may take the key on C.
    assert.equal((await keyOn(c, keyId))?.state, "free");
    assert.equal((await helloWithKey(c, key, "kd-2")).outcome, "welcome");
    const again = await WeriftDevice.publish(ws(b), { id: "cam-move", name: "Moving camera" });
    opened.push(again);
    // The same viewer, the same watch: C relays it from B now.
    await decodes(onC, "cam-move", 10);
    assert.equal(await readMetric(c, "tessera_cluster_nodes"), 2);
  },
);

test("Redis goes away: nodes keep serving their own devices, count the failure, and rejoin when it returns", { timeout: 90_000 }, async () => {
  const [, b, c] = nodes;
  const device = await WeriftDevice.publish(ws(b), { id: "cam-b", name: "Camera B" });
  opened.push(device);
  const local = await watch(b, "cam-b");
  await decodes(local, "cam-b", 10);
  const errorsBefore = await readMetric(b, "tessera_cluster_redis_errors_total");
  const held = (await (await fetch(`${b.url}api/keys`, { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" })).json()) as KeyInfo & {
    key: string;
  };
  const holder = await helloWithKey(c, held.key, "kh-1");
  assert.equal(holder.outcome, "welcome");
  await redis.stop();
  await waitForAsync(async () => (await readMetric(b, "tessera_cluster_redis_errors_total")) > errorsBefore, 10_000, "B counting Redis errors");
  await decodes(local, "cam-b", 20);
  // A key made while Redis is away stays B's until Redis returns.
  const made = await fetch(`${b.url}api/keys`, { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
  assert.equal(made.status, 201, "keys are made without Redis");
  const { id: keyId, key } = (await made.json()) as KeyInfo & { key: string };
  // ...and a key revoked on B meanwhile: C hears of it when Redis returns, and evicts its holder.
  assert.equal((await fetch(`${b.url}api/keys/${held.id}`, { method: "DELETE" })).status, 200);
  await redis.run();
  assert.equal(await holder.client.closed(), 4403);
  // An empty Redis (no persistence): the nodes announce themselves again.
  await waitForAsync(async () => (await readMetric(c, "tessera_cluster_nodes")) === 2, 15_000, "C sees both nodes again");
  assert.ok((await listed(c)).find((d) => d.id === "cam-b")?.online, "B's device is listed on C again");
  // And a node that joins now shares the secrets the others kept (its legs are accepted).
  const d = await startNode();
  await listedOnline(d, "cam-b");
  const onD = await watch(d, "cam-b");
  await decodes(onD, "cam-b", 10);
  // B wrote its keys back to the empty Redis: the new node knows the key made during the outage, and every older one.
  assert.equal((await keyOn(d, keyId))?.state, "free");
  assert.equal((await helloWithKey(d, key, "kd-3")).outcome, "welcome");
});

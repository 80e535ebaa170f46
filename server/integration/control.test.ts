import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { waitFor, waitForAsync } from "../../e2e/lib/signaling-client.js";
import type { ReceivedStream } from "../../e2e/lib/received-stream.js";
import { stopSctpReading, WeriftDevice, WeriftViewer } from "../../e2e/lib/werift-peers.js";
import { MAX_CHANNEL_UNSENT_BYTES } from "../rtc/channel-send.js";
import { INPUT_DRAIN_MS } from "../rtc/subscriber.js";
import { startServer, type Running } from "./fixture.js";

/** Waits for the viewer's input channel to open. */
async function channel(stream: ReceivedStream) {
  return waitFor(() => (stream.input?.readyState === "open" ? stream.input : undefined), 5000, "input channel");
}

describe("control and input over data channels", () => {
  /** The device messages the server has forwarded so far. */
  const forwarded = async () => Number(/tessera_device_messages_total\{result="forwarded"\} (\d+)/.exec(await server.app.metrics.text())?.[1] ?? 0);
  let server: Running;
  let device: WeriftDevice;
  let alice: WeriftViewer;
  let bob: WeriftViewer;

  before(async () => {
    server = await startServer({ controlIdleSeconds: 2, inputRate: 40 });
    device = await WeriftDevice.publish(server.wsUrl, { id: "board", dataChannel: true });
    await device.sendMessage({ type: "resolution", width: 1280, height: 720 });
    alice = await WeriftViewer.connect(server.wsUrl);
    bob = await WeriftViewer.connect(server.wsUrl);
    alice.watch("board");
    bob.watch("board");
    await waitFor(() => alice.streams.get("board") && bob.streams.get("board"), 5000, "offers");
    await channel(alice.streams.get("board")!);
    await channel(bob.streams.get("board")!);
  });

  after(async () => {
    await alice?.close();
    await bob?.close();
    await device?.close();
    await server?.stop();
  });

  test("viewers learn the holder when they watch, and when it changes", async () => {
    await alice.signaling.next("control", (m) => m.deviceId === "board" && m.holder === null);
    const mark = bob.signaling.received.length;
    alice.signaling.send({ type: "control", action: "request", deviceId: "board" });
    const peerId = (await alice.signaling.next("welcome")).peerId;
    await alice.signaling.next("control", (m) => m.holder === peerId);
    await bob.signaling.next("control", (m) => m.holder === peerId, 5000, mark);
  });

  test("a second request while someone holds control is refused with busy", async () => {
    const mark = bob.signaling.received.length;
    bob.signaling.send({ type: "control", action: "request", deviceId: "board" });
    const err = await bob.signaling.next("error", () => true, 5000, mark);
    assert.equal(err.code, "busy");
  });

  test("names: a viewer that names itself is named to the others, as holder and as asker", async () => {
    const aliceId = (await alice.signaling.next("welcome")).peerId;
    let mark = bob.signaling.received.length;
    alice.signaling.send({ type: "name", name: " Alice " });
    await bob.signaling.next("control", (m) => m.holder === aliceId && m.holderName === "Alice", 5000, mark);
    mark = alice.signaling.received.length;
    bob.signaling.send({ type: "name", name: "Bob" });
    bob.signaling.send({ type: "control", action: "request", deviceId: "board" });
    const ask = await alice.signaling.next("control_request", () => true, 5000, mark);
    assert.equal(ask.fromName, "Bob");
    alice.signaling.send({ type: "control", action: "refuse", deviceId: "board", to: ask.from });
    // Named before it holds control: the grant names it too.
    mark = alice.signaling.received.length;
    const releases = () => device.inputLines.filter((l) => l === "kr").length;
    const released = releases();
    alice.signaling.send({ type: "control", action: "release", deviceId: "board" });
    bob.signaling.send({ type: "control", action: "request", deviceId: "board" });
    await alice.signaling.next("control", (m) => m.holder === ask.from && m.holderName === "Bob", 5000, mark);
    bob.signaling.send({ type: "control", action: "release", deviceId: "board" });
    mark = bob.signaling.received.length;
    alice.signaling.send({ type: "control", action: "request", deviceId: "board" });
    await bob.signaling.next("control", (m) => m.holder === aliceId, 5000, mark);
    // Both releases told the device to let go; they land before the next test counts lines.
    await waitFor(() => releases() >= released + 2, 5000, "the device's kr lines");
  });

  test("the holder's valid lines reach the device unchanged; invalid and others' lines never do", async () => {
    const a = alice.streams.get("board")!.input!;
    const b = bob.streams.get("board")!.input!;
    const before = device.inputLines.length;
    b.send("m,10,10,0,0"); // not the holder
    a.send("m,5000,10,0,0"); // outside the 1280x720 stream
    a.send("kd,notakey");
    a.send("t,hover,1,1,1");
    a.send("m,640,360,1,0");
    a.send("kd,65");
    a.send("ku,65");
    await waitFor(() => device.inputLines.length >= before + 3, 5000, "forwarded lines");
    assert.deepEqual(device.inputLines.slice(before), ["m,640,360,1,0", "kd,65", "ku,65"]);
    const text = await server.app.metrics.text();
    assert.match(text, /tessera_input_lines_total\{result="dropped",reason="not_controller"\} 1/);
    assert.match(text, /tessera_input_lines_total\{result="dropped",reason="out_of_range"\} 1/);
    assert.match(text, /tessera_input_lines_total\{result="dropped",reason="bad_phase"\} 1/);
    assert.match(text, /tessera_input_lines_total\{result="forwarded",reason="key"\} 2/);
  });

  test("the pointer lane: moves in number order only, buttons from the input lane, plain lines to the device; other channels are closed", async () => {
    const stream = alice.streams.get("board")!;
    const a = stream.input!;
    const pointer = stream.pc.createDataChannel("pointer", { ordered: false, maxRetransmits: 0 });
    const junk = stream.pc.createDataChannel("junk");
    await waitFor(() => pointer.readyState === "open", 5000, "the pointer channel");
    const before = device.inputLines.length;
    a.send("m,100,100,1,0,10"); // a press, reliable, number 10
    pointer.send("m,90,90,0,0,9"); // sent before the press, arrived after: stale
    pointer.send("m,110,100,0,0,11"); // a move during the drag; its own buttons do not count
    pointer.send("m,120,100,1,0,12");
    pointer.send("m,115,100,1,0,11"); // overtaken by 12: stale
    pointer.send("kd,65"); // not a move: wrong lane
    pointer.send("m,130,100,1,3,13"); // wheel is not a move: wrong lane
    a.send("m,120,100,0,0,14"); // the release
    await waitFor(() => device.inputLines.length >= before + 4, 5000, "forwarded lines");
    assert.deepEqual(device.inputLines.slice(before), ["m,100,100,1,0", "m,110,100,1,0", "m,120,100,1,0", "m,120,100,0,0"]);
    const text = await server.app.metrics.text();
    assert.match(text, /tessera_input_lines_total\{result="dropped",reason="stale"\} 2/);
    assert.match(text, /tessera_input_lines_total\{result="dropped",reason="wrong_lane"\} 2/);
    await waitFor(() => junk.readyState === "closed", 5000, "the server to close a channel it does not know");
    pointer.close();
  });

  test("device messages reach every viewer; state is replayed to a viewer that joins later", async () => {
    await device.sendMessage({ type: "state", leds: [true, false], battery: 0.8 });
    for (const v of [alice, bob]) {
      await waitFor(() => v.streams.get("board")!.inputMessages.some((m) => m.includes('"battery":0.8')), 5000, "state");
    }
    await device.sendMessage({ type: "launch_missiles" });
    const carol = await WeriftViewer.connect(server.wsUrl);
    try {
      carol.watch("board");
      const s = await waitFor(() => carol.streams.get("board"), 5000, "offer");
      await waitFor(() => s.inputMessages.some((m) => m.includes('"battery":0.8')), 5000, "replayed state");
      assert.ok(s.inputMessages.some((m) => m.includes('"resolution"')));
      assert.ok(!alice.streams.get("board")!.inputMessages.some((m) => m.includes("launch_missiles")), "unknown types are dropped");
    } finally {
      await carol.close();
    }
  });

  test("an idle holder loses control", async () => {
    const mark = bob.signaling.received.length;
    await bob.signaling.next("control", (m) => m.holder === null, 6000, mark);
    bob.signaling.send({ type: "control", action: "request", deviceId: "board" });
    const bobId = (await bob.signaling.next("welcome")).peerId;
    await bob.signaling.next("control", (m) => m.holder === bobId, 5000, mark);
  });

  test("echo requests reach the device and its pong every viewer, but do not keep an idle holder", async () => {
    const stream = bob.streams.get("board")!;
    const bobId = (await bob.signaling.next("welcome")).peerId;
    const before = device.inputLines.length;
    const mark = bob.signaling.received.length;
    // Only pings, for longer than the 2 s idle limit.
    const pinging = setInterval(() => stream.input!.send("p,7"), 250);
    try {
      await waitFor(() => device.inputLines.slice(before).includes("p,7"), 5000, "the echo request at the device");
      await device.sendMessage({ type: "pong", n: 7 });
      for (const v of [alice, bob]) await waitFor(() => v.streams.get("board")!.inputMessages.includes('{"type":"pong","n":7}'), 5000, "the pong");
      await bob.signaling.next("control", (m) => m.holder === null, 6000, mark);
    } finally {
      clearInterval(pinging);
    }
    assert.match(await server.app.metrics.text(), /tessera_input_lines_total\{result="forwarded",reason="ping"\} [1-9]/);
    bob.signaling.send({ type: "control", action: "request", deviceId: "board" });
    await bob.signaling.next("control", (m) => m.holder === bobId, 5000, mark);
  });

  test("control hands over when the holder leaves, and the device is told to release what it held", async () => {
    const b = bob.streams.get("board")!.input!;
    b.send("m,101,102,1,0"); // bob presses a button and leaves without releasing it
    b.send("kd,66");
    await waitFor(() => device.inputLines.includes("kd,66"), 5000, "bob's key");
    const before = device.inputLines.length;
    const mark = alice.signaling.received.length;
    await bob.close();
    await alice.signaling.next("control", (m) => m.holder === null, 5000, mark);
    await waitFor(() => device.inputLines.length >= before + 2, 5000, "release lines");
    assert.deepEqual(device.inputLines.slice(before), ["kr", "m,101,102,0,0"]);
    alice.signaling.send({ type: "control", action: "request", deviceId: "board" });
    const aliceId = (await alice.signaling.next("welcome")).peerId;
    await alice.signaling.next("control", (m) => m.holder === aliceId, 5000, mark);
  });

  test("a flood is cut at the rate limit", async () => {
    const a = alice.streams.get("board")!.input!;
    const before = device.inputLines.length;
    for (let i = 0; i < 400; i++) a.send(`m,${i % 1280},1,0,0`);
    await waitFor(() => device.inputLines.length > before, 5000, "some lines");
    await waitForAsync(async () => /reason="rate_limited"\} [1-9]/.test(await server.app.metrics.text()), 5000, "rate limited");
    const forwarded = device.inputLines.length - before;
    assert.ok(forwarded < 300, `forwarded ${forwarded} of 400`);
  });

  test("a viewer that stops reading its input channel is dropped once MAX_CHANNEL_UNSENT_BYTES wait for it; the others keep watching", async () => {
    const carol = await WeriftViewer.connect(server.wsUrl);
    try {
      carol.watch("board");
      const stream = await waitFor(() => carol.streams.get("board"), 5000, "offer");
      await channel(stream);
      // From now on carol's SCTP takes nothing in: nothing the server sends her is acknowledged.
      stopSctpReading(stream.pc);
      const [markCarol, markAlice] = [carol.signaling.received.length, alice.signaling.received.length];
      const forwardedBefore = await forwarded();
      const blob = "x".repeat(60_000);
      // Just past the limit, in clipboard messages: each one is queued (latest-wins ones would wait for the channel to
      // drain instead). Alice, who reads, takes them about as fast as they come, so her own backlog stays far below it.
      const count = Math.ceil(MAX_CHANNEL_UNSENT_BYTES / blob.length) + 8;
      for (let i = 0; i < count; i++) await device.sendMessage({ type: "clipboard", n: i, text: blob });
      const ended = await carol.signaling.next("unwatched", (m) => m.deviceId === "board", 30_000, markCarol);
      assert.equal(ended.reason, "connection closed");
      await waitFor(() => alice.streams.get("board")!.inputMessages.some((m) => m.includes('"n":0,')), 10_000, "alice reads on");
      // Once the server has handled every message, alice is still watching.
      await waitForAsync(async () => (await forwarded()) >= forwardedBefore + count, 30_000, "every message through the server");
      assert.ok(!alice.signaling.received.slice(markAlice).some((m) => m.type === "unwatched"), "alice keeps watching");
    } finally {
      await carol.close();
      // A small state again, for what is replayed to later viewers.
      await device.sendMessage({ type: "state", battery: 0.8 });
    }
  });

  test("a viewer whose link falls behind the device's state messages gets the latest once it catches up, not a queue of every one", async (t) => {
    const dave = await WeriftViewer.connect(server.wsUrl);
    try {
      dave.watch("board");
      const stream = await waitFor(() => dave.streams.get("board"), 5000, "offer");
      await channel(stream);
      // The cursor's picture, before he falls behind.
      await device.sendMessage({ type: "cursor", x: 1, y: 1, png: "iVBORw0KGgo", hotspotX: 0, hotspotY: 0 });
      await waitFor(() => stream.inputMessages.some((m) => m.includes('"png"')), 5000, "the cursor's picture");
      // Dave's SCTP takes nothing in for a while: what the server sends him waits.
      const readAgain = stopSctpReading(stream.pc);
      const mark = dave.signaling.received.length;
      const before = await forwarded();
      // 1.2 MB: past CHANNEL_BACKLOG_BYTES, well short of MAX_CHANNEL_UNSENT_BYTES.
      const blob = "x".repeat(60_000);
      const count = 20;
      for (let i = 0; i < count - 1; i++) await device.sendMessage({ type: "state", n: i, blob });
      // Pointer moves while he is behind, then the last state.
      for (let x = 10; x < 13; x++) await device.sendMessage({ type: "cursor", x, y: 20 });
      await device.sendMessage({ type: "state", n: count - 1, blob });
      await waitForAsync(async () => (await forwarded()) >= before + count + 3, 30_000, "every message through the server");
      // He reads again: werift sends again what he never acknowledged, and the channel drains.
      readAgain();
      await waitFor(() => stream.inputMessages.some((m) => m.includes(`"n":${count - 1},`)), 30_000, "the latest state");
      const states = stream.inputMessages.filter((m) => m.includes('"blob"')).length;
      t.diagnostic(`${states} of ${count} states went to him`);
      assert.ok(states < count, `${states} of ${count} states went to him: those held back while he was behind were not queued`);
      // The held moves went as one cursor message, the latest position, without the picture he already had; before the
      // last state, as they came.
      const at = stream.inputMessages.findIndex((m) => m.includes(`"n":${count - 1},`));
      const cursor = stream.inputMessages.findLastIndex((m) => m.startsWith('{"type":"cursor"'));
      assert.ok(cursor >= 0 && cursor < at, "the held cursor before the last state");
      assert.deepEqual(JSON.parse(stream.inputMessages[cursor]), { type: "cursor", x: 12, y: 20 });
      assert.ok(!dave.signaling.received.slice(mark).some((m) => m.type === "unwatched"), "he keeps watching");
    } finally {
      await dave.close();
      await device.sendMessage({ type: "state", battery: 0.8 });
    }
  });

  test("a viewer that acknowledges nothing while only latest-wins messages come is dropped INPUT_DRAIN_MS after they were first held back", async () => {
    const erin = await WeriftViewer.connect(server.wsUrl);
    try {
      erin.watch("board");
      const stream = await waitFor(() => erin.streams.get("board"), 5000, "offer");
      await channel(stream);
      stopSctpReading(stream.pc);
      const mark = erin.signaling.received.length;
      const blob = "x".repeat(60_000);
      // Past CHANNEL_BACKLOG_BYTES: the rest are held back, and nothing more is queued for her, ever.
      for (let i = 0; i < 8; i++) await device.sendMessage({ type: "state", n: i, blob });
      const heldAt = performance.now();
      const ended = await erin.signaling.next("unwatched", (m) => m.deviceId === "board", INPUT_DRAIN_MS + 10_000, mark);
      assert.equal(ended.reason, "connection closed");
      const waited = performance.now() - heldAt;
      assert.ok(waited >= INPUT_DRAIN_MS - 1000, `dropped after ${waited.toFixed(0)} ms`);
    } finally {
      await erin.close();
      await device.sendMessage({ type: "state", battery: 0.8 });
    }
  });

  test("a device that stops reading its input channel goes offline once MAX_CHANNEL_UNSENT_BYTES of its viewers' input wait for it", async () => {
    const mark = alice.signaling.received.length;
    alice.signaling.send({ type: "control", action: "request", deviceId: "board" });
    const aliceId = (await alice.signaling.next("welcome")).peerId;
    await alice.signaling.next("control", (m) => m.holder === aliceId, 5000, mark);
    // From now on the device's SCTP takes nothing in.
    stopSctpReading(device.pc);
    const line = `cw,${Buffer.alloc(47 * 1024, "x").toString("base64")}`;
    const input = alice.streams.get("board")!.input!;
    const offline = () => alice.signaling.received.slice(mark).some((m) => m.type === "device_offline" && m.deviceId === "board");
    // Clipboard writes at about 33 a second, within the input rate (40): some 4 MiB in 2 s. Bounded in count and time.
    const deadline = performance.now() + 30_000;
    let sent = 0;
    while (!offline() && sent < 400 && performance.now() < deadline) {
      input.send(line);
      sent++;
      await new Promise((r) => setTimeout(r, 30)); // the sender's pace, not a wait for a condition
    }
    assert.ok(offline(), `the device went offline (${sent} lines sent)`);
    assert.ok(sent * line.length > MAX_CHANNEL_UNSENT_BYTES, `not before the limit (${sent} lines of ${line.length} characters)`);
  });
});

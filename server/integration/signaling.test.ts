import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { SignalingClient } from "../../e2e/lib/signaling-client.js";
import { LOCAL_ACCOUNT } from "../app.js";
import { NoAuthenticator } from "../auth/authenticator.js";
import { MAX_EARLY_MESSAGES } from "../signaling/connection.js";
import { WATCH_BURST, WATCH_RATE } from "../sessions/viewer-session.js";
import { CLOSE_CODES, MAX_MESSAGE_BYTES } from "../protocol/messages.js";
import { startServer, type Running } from "./fixture.js";

async function waitUntil(ok: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    assert.ok(Date.now() < deadline, "timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function viewer(server: Running): Promise<SignalingClient> {
  const c = await SignalingClient.connect(server.wsUrl);
  c.send({ type: "hello", role: "viewer", protocol: 1 });
  await c.next("welcome");
  return c;
}

describe("signaling refuses bad input without harm", () => {
  let server: Running;
  const clients: SignalingClient[] = [];
  before(async () => {
    server = await startServer({ source: [{ kind: "test" }] });
  });
  after(async () => {
    for (const c of clients) c.close();
    await server.stop();
  });

  test("welcome carries the peer id, the account and the device list", async () => {
    const c = await SignalingClient.connect(server.wsUrl);
    clients.push(c);
    c.send({ type: "hello", role: "viewer", protocol: 1 });
    const w = await c.next("welcome");
    assert.match(w.peerId, /^[0-9a-f-]{36}$/);
    assert.equal(w.account, "local");
    assert.deepEqual(w.iceServers, []);
    assert.deepEqual(
      w.devices?.map((d) => [d.id, d.online, d.tracks.map((t) => t.codec)]),
      [["test", true, ["video/vp8", "audio/opus"]]],
    );
  });

  const cases: Array<[string, string, string, RegExp]> = [
    ["malformed JSON", '{"type":', "bad_request", /not valid JSON/],
    ["an unknown message type", JSON.stringify({ type: "teleport" }), "bad_request", /unknown message type/],
    ["a watch for a device that does not exist", JSON.stringify({ type: "watch", deviceId: "nope" }), "not_found", /no device 'nope'/],
    ["an answer for a device not watched", JSON.stringify({ type: "answer", deviceId: "test", sdp: "v=0\r\n" }), "not_found", /not watching/],
    ["a device-only message from a viewer", JSON.stringify({ type: "offer", sdp: "v=0\r\n" }), "bad_request", /does not send 'offer'/],
    ["a second hello", JSON.stringify({ type: "hello", role: "viewer", protocol: 1 }), "bad_request", /already/],
  ];
  for (const [name, text, code, why] of cases) {
    test(`${name} gets error '${code}' and the connection stays usable`, async () => {
      const c = await viewer(server);
      clients.push(c);
      const mark = c.received.length;
      c.send(text);
      const err = await c.next("error", () => true, 3000, mark);
      assert.equal(err.code, code);
      assert.match(err.message, why);
      c.send({ type: "watch", deviceId: "test" });
      await c.next("offer", (m) => m.deviceId === "test", 5000, mark);
    });
  }

  test("an offer whose SDP does not parse is refused with bad_request", async () => {
    const c = await SignalingClient.connect(server.wsUrl);
    clients.push(c);
    c.send({ type: "hello", role: "device", protocol: 1, device: { id: "broken" } });
    await c.next("welcome");
    c.send({ type: "offer", sdp: "this is not sdp" });
    const err = await c.next("error");
    assert.equal(err.code, "bad_request");
    assert.match(err.message, /not an SDP/);
    c.send({ type: "offer", sdp: "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP9/90000\r\n" });
    const err2 = await c.next("error", (e) => e !== err);
    assert.ok(["bad_request", "unsupported"].includes(err2.code), err2.code);
  });

  test("a message before hello gets an error and a 4400 close", async () => {
    const c = await SignalingClient.connect(server.wsUrl);
    c.send({ type: "watch", deviceId: "test" });
    const err = await c.next("error");
    assert.equal(err.code, "bad_request");
    assert.equal(await c.closed(), CLOSE_CODES.protocolError);
  });

  test("a hello with a device but no device description is refused", async () => {
    const c = await SignalingClient.connect(server.wsUrl);
    c.send({ type: "hello", role: "device", protocol: 1 });
    const err = await c.next("error");
    assert.equal(err.code, "bad_request");
    assert.equal(await c.closed(), CLOSE_CODES.protocolError);
  });

  test("an oversized message closes the socket with 4413", async () => {
    const c = await viewer(server);
    c.send("x".repeat(MAX_MESSAGE_BYTES + 1));
    assert.equal(await c.closed(), CLOSE_CODES.tooLarge);
  });

  test("binary frames are refused", async () => {
    const c = await viewer(server);
    clients.push(c);
    c.ws.send(Buffer.from([1, 2, 3]));
    const err = await c.next("error");
    assert.match(err.message, /binary/);
  });

  test("errors are counted by code, and the server still serves", async () => {
    const text = await server.app.metrics.text();
    assert.match(text, /tessera_signaling_errors_total\{code="bad_request"\} ([1-9]\d*)/);
    assert.match(text, /tessera_signaling_errors_total\{code="not_found"\} ([1-9]\d*)/);
    const res = await fetch(`${server.httpUrl}/healthz`);
    assert.equal(res.status, 200);
  });

  test("GET /api/devices lists the caller's devices", async () => {
    const res = await fetch(`${server.httpUrl}/api/devices`);
    const body = (await res.json()) as { devices: Array<{ id: string; online: boolean; kind: string }> };
    const test = body.devices.find((d) => d.id === "test");
    assert.deepEqual({ id: test?.id, online: test?.online, kind: test?.kind }, { id: "test", online: true, kind: "test" });
  });

  test("DELETE /api/devices/:id forgets an offline device nobody watches; online, watched and unknown ones are refused", async () => {
    const del = async (id: string) => {
      const res = await fetch(`${server.httpUrl}/api/devices/${id}`, { method: "DELETE" });
      return { status: res.status, code: res.status === 204 ? undefined : ((await res.json()) as { error: { code: string } }).error.code };
    };
    assert.deepEqual(await del("test"), { status: 409, code: "busy" }, "online");
    assert.deepEqual(await del("nothing-here"), { status: 404, code: "not_found" });
    // A device that was online once and is offline now, with one viewer waiting for it.
    const gone = server.app.registry.ensure(LOCAL_ACCOUNT, "gone-cam", "Gone cam", "camera");
    const c = await viewer(server);
    clients.push(c);
    const listed = c.received.length;
    c.send({ type: "watch", deviceId: "gone-cam" });
    await c.next("watching", (m) => m.deviceId === "gone-cam");
    assert.deepEqual(await del("gone-cam"), { status: 409, code: "busy" }, "watched");
    c.send({ type: "unwatch", deviceId: "gone-cam" });
    await waitUntil(() => gone.viewers === 0);
    assert.deepEqual(await del("gone-cam"), { status: 204, code: undefined });
    assert.equal(server.app.registry.get(LOCAL_ACCOUNT, "gone-cam"), undefined);
    // Viewers learn the list changed.
    await c.next("devices", (m) => !m.devices.some((d) => d.id === "gone-cam"), 5000, listed);
  });

  test("an answer while the device is offline (nothing was offered) is bad_request", async () => {
    server.app.registry.ensure(LOCAL_ACCOUNT, "asleep-cam", "Asleep cam", "camera");
    const c = await viewer(server);
    clients.push(c);
    c.send({ type: "watch", deviceId: "asleep-cam" });
    await c.next("watching", (m) => m.deviceId === "asleep-cam");
    c.send({ type: "answer", deviceId: "asleep-cam", sdp: "v=0\r\n" });
    const refusal = await c.next("error", (m) => m.ref === "answer");
    assert.equal(refusal.code, "bad_request");
    assert.match(refusal.message, /no offer is outstanding/);
  });

  test(`a connection starts ${WATCH_BURST} watches at once, then ${WATCH_RATE} a second: the rest are rate_limited`, async () => {
    const c = await viewer(server);
    clients.push(c);
    for (let i = 0; i < WATCH_BURST + 4; i++) c.send({ type: "watch", deviceId: "test" });
    const limited = () => c.received.filter((m) => m.type === "error" && m.code === "rate_limited" && m.ref === "watch").length;
    // Four past the burst; one may have found a token refilled meanwhile (2 a second).
    await waitUntil(() => limited() >= 3);
    assert.ok(limited() <= 4, `${limited()} refused`);
    c.send({ type: "unwatch", deviceId: "test" });
  });

  test("upgrades to other paths are refused", async () => {
    await assert.rejects(SignalingClient.connect(server.wsUrl.replace("/ws", "/nope")));
  });
});

/** A hello the test lets through: everyone is the local account, once `open()` is called. */
class GatedAuthenticator extends NoAuthenticator {
  private release: () => void = () => undefined;
  private readonly gate = new Promise<void>((resolve) => (this.release = resolve));
  override async socket(): Promise<string> {
    await this.gate;
    return LOCAL_ACCOUNT;
  }
  open(): void {
    this.release();
  }
}

describe("messages behind the hello wait for the welcome", () => {
  let server: Running;
  const auth = new GatedAuthenticator();
  const clients: SignalingClient[] = [];
  before(async () => {
    server = await startServer({ source: [{ kind: "test" }] }, { authenticator: auth });
  });
  after(async () => {
    for (const c of clients) c.close();
    await server.stop();
  });

  /** How many messages of a type the server has taken in so far. */
  async function counted(type: string): Promise<number> {
    const m = new RegExp(`tessera_signaling_messages_total\\{type="${type}"\\} (\\d+)`).exec(await server.app.metrics.text());
    return Number(m?.[1] ?? 0);
  }

  test("a watch sent right behind the hello is handled after the welcome; more than the limit are refused one by one", async () => {
    const c = await SignalingClient.connect(server.wsUrl);
    clients.push(c);
    c.send({ type: "hello", role: "viewer", protocol: 1 });
    c.send({ type: "watch", deviceId: "test" });
    for (let i = 0; i < MAX_EARLY_MESSAGES; i++) c.send({ type: "name", name: `early ${i}` });
    // The hello is held: the server has everything before it can answer any of it.
    await waitUntil(() => c.received.some((m) => m.type === "error"));
    assert.equal(await counted("watch"), 1);
    assert.equal(await counted("name"), MAX_EARLY_MESSAGES);
    const refused = c.received.filter((m) => m.type === "error");
    assert.deepEqual(
      refused.map((m) => [m.code, m.ref, m.message]),
      [["bad_request", "name", `at most ${MAX_EARLY_MESSAGES} messages may wait for the welcome`]],
      "the one over the limit",
    );
    assert.ok(!c.received.some((m) => m.type === "welcome"), "no welcome while the hello is held");
    auth.open();
    await c.next("offer", (m) => m.deviceId === "test");
    const order = c.received.map((m) => m.type);
    assert.ok(order.indexOf("welcome") < order.indexOf("offer"), `welcome first: ${order.join(", ")}`);
    assert.equal(order.filter((t) => t === "error").length, 1, "nothing else refused");
  });
});

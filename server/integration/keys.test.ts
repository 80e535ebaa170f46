import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import { SignalingClient, waitFor, waitForAsync } from "../../e2e/lib/signaling-client.js";
import { WeriftDevice } from "../../e2e/lib/werift-peers.js";
import { UsersFile } from "../auth/users-file.js";
import type { KeyInfo } from "../keys/device-keys.js";
import type { DeviceInfo } from "../protocol/messages.js";
import { testJpeg } from "../../e2e/lib/jpeg-fixture.js";
import { startServer, type Running } from "./fixture.js";

const basic = (name: string, password: string) => ({ Authorization: `Basic ${Buffer.from(`${name}:${password}`).toString("base64")}` });
const PASSWORDS = { alice: "alice-password-1", bob: "bob-password-22" };
const ALICE = basic("alice", PASSWORDS.alice);
const BOB = basic("bob", PASSWORDS.bob);
const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });

describe("device keys", () => {
  let server: Running;
  let dataDir: string;
  let jpeg: Buffer;
  const closers: Array<() => unknown> = [];

  const api = (path: string, init: RequestInit & { headers?: Record<string, string> } = {}) => fetch(`${server.httpUrl}${path}`, init);
  async function createKey(headers: Record<string, string>, body: object = {}): Promise<KeyInfo & { key: string }> {
    const res = await api("/api/keys", { method: "POST", headers: { ...headers, "Content-Type": "application/json" }, body: JSON.stringify(body) });
    assert.equal(res.status, 201, await res.clone().text());
    return (await res.json()) as KeyInfo & { key: string };
  }
  async function keyState(id: string): Promise<KeyInfo> {
    const res = await api("/api/keys", { headers: ALICE });
    assert.equal(res.status, 200);
    const found = ((await res.json()) as { keys: KeyInfo[] }).keys.find((k) => k.id === id);
    assert.ok(found, `key ${id} listed`);
    return found;
  }
  async function aliceDevices(): Promise<DeviceInfo[]> {
    return ((await (await api("/api/devices", { headers: ALICE })).json()) as { devices: DeviceInfo[] }).devices;
  }
  async function failures(reason: string): Promise<number> {
    const m = new RegExp(`^tessera_auth_failures_total\\{reason="${reason}"\\} (\\d+)`, "m").exec(await server.app.metrics.text());
    return Number(m?.[1] ?? 0);
  }
  /** A device hello with a key on /ws: "welcome", or the close code and error code of the refusal. */
  async function helloWithKey(key: string, id: string): Promise<{ client: SignalingClient; outcome: "welcome" | { close: number; code: string | undefined } }> {
    const client = await SignalingClient.connect(server.wsUrl);
    closers.push(() => client.close());
    client.send({ type: "hello", role: "device", protocol: 1, key, device: { id } });
    const outcome = await Promise.race([
      client.next("welcome").then(() => "welcome" as const),
      client.closed().then((close) => ({ close, code: client.received.find((m) => m.type === "error")?.code })),
    ]);
    return { client, outcome };
  }

  before(async () => {
    dataDir = join(mkdtempSync(join(tmpdir(), "tessera-keys-")), "data");
    const users = new UsersFile(dataDir);
    for (const [name, pw] of Object.entries(PASSWORDS)) await users.set(name, pw);
    server = await startServer({ auth: "basic", dataDir });
    jpeg = testJpeg(160, 120);
  });

  after(async () => {
    for (const c of closers.reverse()) await c();
    await server?.stop();
    rmSync(join(dataDir, ".."), { recursive: true, force: true });
  });

  test("an account creates, lists and owns its keys; bad requests and other accounts are refused", async () => {
    const made = await createKey(ALICE, { label: "hall cam" });
    assert.match(made.key, /^tk_[0-9a-f]{12}\./);
    assert.equal(made.label, "hall cam");
    assert.equal((await keyState(made.id)).state, "free");
    const bobsList = (await (await api("/api/keys", { headers: BOB })).json()) as { keys: KeyInfo[] };
    assert.deepEqual(bobsList.keys, [], "bob sees none of alice's keys");
    assert.equal((await api(`/api/keys/${made.id}`, { method: "DELETE", headers: BOB })).status, 404);
    assert.equal((await api(`/api/keys/${made.id}/release`, { method: "POST", headers: BOB })).status, 404);
    assert.equal((await api("/api/keys")).status, 401, "no credentials");

    const post = (body: string, headers: Record<string, string>) => api("/api/keys", { method: "POST", headers: { ...ALICE, ...headers }, body });
    assert.equal((await post("{}", { "Content-Type": "text/plain" })).status, 415);
    assert.equal((await post("{nope", { "Content-Type": "application/json" })).status, 400);
    const badId = await post(JSON.stringify({ deviceId: "../x" }), { "Content-Type": "application/json" });
    assert.equal(badId.status, 400);
    assert.match(((await badId.json()) as { error: { message: string } }).error.message, /deviceId/);
    assert.equal((await post(JSON.stringify({ extra: 1 }), { "Content-Type": "application/json" })).status, 400);
    assert.equal((await post("{}", { "Content-Type": "application/json", Origin: "https://evil.example" })).status, 403, "a page of another site");

    // A key publishes; it does not act for the account.
    for (const [path, method] of [
      ["/api/devices", "GET"],
      ["/api/keys", "GET"],
      ["/api/session", "POST"],
      ["/whep/cam", "POST"],
    ] as const) {
      assert.equal((await api(path, { method, headers: bearer(made.key) })).status, 403, `${method} ${path} with a key`);
    }
    assert.equal((await api("/api/rtc-config", { headers: bearer(made.key) })).status, 200, "a device with a key gets its ICE servers");
    assert.ok((await failures("key_not_publishing")) >= 4);
  });

  test("a device with a key publishes as its account; the key is reserved while connected, busy for a second device, free after", async () => {
    const { id, key } = await createKey(ALICE, { label: "desk" });
    const device = await WeriftDevice.publish(server.wsUrl, { id: "desk-cam", key });
    closers.push(() => device.close());
    await waitForAsync(async () => (await aliceDevices()).find((d) => d.id === "desk-cam" && d.online), 10_000, "the keyed device online for alice");
    const reserved = await keyState(id);
    assert.equal(reserved.state, "reserved");
    assert.equal(reserved.reservedBy, "desk-cam");
    const bobs = (await (await api("/api/devices", { headers: BOB })).json()) as { devices: DeviceInfo[] };
    assert.deepEqual(bobs.devices, []);

    const before = await failures("key_busy");
    const second = await helloWithKey(key, "other-cam");
    assert.deepEqual(second.outcome, { close: 4409, code: "busy" });
    assert.equal(await failures("key_busy"), before + 1);

    await device.close();
    await waitForAsync(async () => (await keyState(id)).state === "free", 10_000, "the key free after the device left");
    const freed = await keyState(id);
    assert.equal(freed.lastDevice, "desk-cam");
    assert.ok(freed.lastSeen);
    const third = await helloWithKey(key, "other-cam");
    assert.equal(third.outcome, "welcome", "another device may use it now");
    third.client.close();
  });

  test("the same device reconnecting takes its key over; release evicts the holder (4410); revoke evicts it (4403) and refuses the key for good", async () => {
    const { id, key } = await createKey(ALICE, {});
    const stale = await helloWithKey(key, "bench-1");
    assert.equal(stale.outcome, "welcome");
    const first = await helloWithKey(key, "bench-1");
    assert.equal(first.outcome, "welcome", "the new connection of the same device wins");
    assert.equal(await stale.client.closed(), 4409);
    assert.equal((await keyState(id)).reservedBy, "bench-1");
    assert.equal((await api(`/api/keys/${id}/release`, { method: "POST", headers: ALICE })).status, 200);
    assert.equal(await first.client.closed(), 4410);
    await waitForAsync(async () => (await keyState(id)).state === "free", 5000, "released");

    const again = await helloWithKey(key, "bench-2");
    assert.equal(again.outcome, "welcome");
    const revoked = await api(`/api/keys/${id}`, { method: "DELETE", headers: ALICE });
    assert.equal(revoked.status, 200);
    assert.equal(((await revoked.json()) as KeyInfo).state, "revoked");
    assert.equal(await again.client.closed(), 4403);
    const before = await failures("key_revoked");
    assert.deepEqual((await helloWithKey(key, "bench-2")).outcome, { close: 4401, code: "unauthorized" });
    assert.equal(
      (await api("/api/devices/bench-2/frames", { method: "POST", headers: { ...bearer(key), "Content-Type": "image/jpeg" }, body: jpeg })).status,
      401,
    );
    assert.equal(await failures("key_revoked"), before + 2);
    assert.deepEqual((await helloWithKey(`${key.slice(0, -2)}zz`, "bench-2")).outcome, { close: 4401, code: "unauthorized" }, "a tampered key");
  });

  test("a key assigned to a device id publishes only that device: WHIP, frame pushes and the ingest socket", async () => {
    const { id, key } = await createKey(ALICE, { deviceId: "porch" });
    assert.equal(
      (await api("/api/devices/garage/frames", { method: "POST", headers: { ...bearer(key), "Content-Type": "image/jpeg" }, body: jpeg })).status,
      403,
    );
    const pushed = await api("/api/devices/porch/frames", { method: "POST", headers: { ...bearer(key), "Content-Type": "image/jpeg" }, body: jpeg });
    assert.equal(pushed.status, 201, await pushed.clone().text());
    await waitForAsync(async () => (await aliceDevices()).find((d) => d.id === "porch" && d.online), 5000, "the pushed device is alice's");
    assert.equal((await keyState(id)).lastDevice, "porch");

    // The ingest socket holds the key while it is open.
    const ws = new WebSocket(server.wsUrl.replace(/\/ws$/, "/ws/ingest/porch"));
    closers.push(() => ws.close());
    const messages: Array<{ type: string; code?: string }> = [];
    ws.on("message", (d, binary) => !binary && messages.push(JSON.parse((d as Buffer).toString()) as { type: string; code?: string }));
    await new Promise((r) => ws.once("open", r));
    ws.send(JSON.stringify({ type: "hello", key }));
    await waitFor(() => messages.find((m) => m.type === "ready"), 5000, "ready");
    assert.equal((await keyState(id)).reservedBy, "porch");
    ws.send(jpeg);
    await waitFor(() => messages.find((m) => m.type === "ack"), 5000, "ack");
    const whipWhileHeld = await fetch(`${server.httpUrl}/whip/porch`, {
      method: "POST",
      headers: { ...bearer(key), "Content-Type": "application/sdp" },
      body: "v=0\r\n",
    });
    assert.equal(whipWhileHeld.status, 409, "the device is already publishing");
    ws.close();
    await waitForAsync(async () => (await keyState(id)).state === "free", 5000, "the ingest socket let the key go");

    // WHIP with the key as Bearer token; the device goes offline with the frame device's idle timer, so use a new key.
    const whipKey = await createKey(ALICE, { deviceId: "whip-cam" });
    const device = await WeriftDevice.publish(server.wsUrl, { id: "whip-cam", key: whipKey.key, whip: `${server.httpUrl}/whip/whip-cam` });
    closers.push(() => device.close());
    await waitForAsync(async () => (await aliceDevices()).find((d) => d.id === "whip-cam" && d.online), 10_000, "the WHIP device online for alice");
    assert.equal((await keyState(whipKey.id)).reservedBy, "whip-cam");
    const other = await fetch(`${server.httpUrl}/whip/elsewhere`, {
      method: "POST",
      headers: { ...bearer(whipKey.key), "Content-Type": "application/sdp" },
      body: "v=0\r\n",
    });
    assert.equal(other.status, 403, "assigned to whip-cam");
    await device.close();
    await waitForAsync(async () => (await keyState(whipKey.id)).state === "free", 10_000, "DELETE ends the reservation");
  });

  test("keys survive a restart; reservations do not", async () => {
    const { id, key } = await createKey(ALICE, { label: "survivor" });
    const held = await helloWithKey(key, "s-1");
    assert.equal(held.outcome, "welcome");
    await server.stop();
    server = await startServer({ auth: "basic", dataDir });
    assert.equal((await keyState(id)).state, "free");
    assert.equal((await keyState(id)).label, "survivor");
    assert.equal((await helloWithKey(key, "s-2")).outcome, "welcome");
  });
});

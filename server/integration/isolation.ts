/** Checks, on every path, that one account's device is invisible to another account (tests only). */
import assert from "node:assert/strict";
import { FallbackClient } from "../../e2e/lib/fallback-client.js";
import { waitFor, waitForAsync } from "../../e2e/lib/signaling-client.js";
import { WeriftDevice, WeriftViewer } from "../../e2e/lib/werift-peers.js";
import type { DeviceInfo } from "../protocol/messages.js";
import type { Running } from "./fixture.js";

/** One signed-in caller: the account, the hello token, the HTTP headers the API wants. */
export interface Caller {
  account: string;
  token: string;
  headers: Record<string, string>;
}

async function devicesOf(server: Running, c: Caller): Promise<DeviceInfo[]> {
  const res = await fetch(`${server.httpUrl}/api/devices`, { headers: c.headers });
  assert.equal(res.status, 200, `GET /api/devices as ${c.account}`);
  return ((await res.json()) as { devices: DeviceInfo[] }).devices;
}

/**
 * A publishes a werift device; A lists, watches and streams it (fallback),
 * B gets not_found on every path, exactly as for a device that does not
 * exist; with TURN configured each gets credentials in its own name.
 */
export async function checkIsolation(server: Running, a: Caller, b: Caller, deviceId = "cam-a"): Promise<void> {
  const cleanup: Array<() => unknown> = [];
  try {
    const device = await WeriftDevice.publish(server.wsUrl, { id: deviceId, token: a.token });
    cleanup.push(() => device.close());
    await waitForAsync(async () => (await devicesOf(server, a)).find((d) => d.id === deviceId && d.online), 10_000, "A's device online");
    assert.deepEqual(await devicesOf(server, b), [], "B's list is empty");

    for (const c of [a, b]) {
      const res = await fetch(`${server.httpUrl}/api/rtc-config`, { headers: c.headers });
      assert.equal(res.status, 200);
      const { iceServers } = (await res.json()) as { iceServers: Array<{ username?: string }> };
      for (const s of iceServers) if (s.username) assert.match(s.username, new RegExp(`^\\d+:${c.account}$`), "TURN credentials name the caller's account");
    }

    const viewerA = await WeriftViewer.connect(server.wsUrl, { token: a.token });
    cleanup.push(() => viewerA.close());
    const welcomeA = await viewerA.signaling.next("welcome");
    assert.equal(welcomeA.account, a.account);
    assert.deepEqual(
      welcomeA.devices?.map((d) => d.id),
      [deviceId],
    );
    viewerA.watch(deviceId);
    await viewerA.signaling.next("offer", (m) => m.deviceId === deviceId, 10_000);

    const viewerB = await WeriftViewer.connect(server.wsUrl, { token: b.token });
    cleanup.push(() => viewerB.close());
    const welcomeB = await viewerB.signaling.next("welcome");
    assert.equal(welcomeB.account, b.account);
    assert.deepEqual(welcomeB.devices, []);
    for (const id of [deviceId, "no-such-device"]) {
      viewerB.watch(id);
      const err = await viewerB.signaling.next("error", (m) => m.deviceId === id);
      assert.equal(err.code, "not_found", `B watching ${id}`);
    }
    assert.equal(viewerB.signaling.received.filter((m) => m.type === "offer").length, 0, "B never got an offer");

    const streamA = new FallbackClient(`${server.wsUrl}/stream/${deviceId}`, { type: "hello", token: a.token });
    cleanup.push(() => streamA.close());
    await waitFor(() => streamA.of("ready")[0], 5000, "A's fallback ready");
    for (const id of [deviceId, "no-such-device"]) {
      const streamB = new FallbackClient(`${server.wsUrl}/stream/${id}`, { type: "hello", token: b.token });
      cleanup.push(() => streamB.close());
      await waitFor(() => streamB.closeCode, 5000, "B's fallback closed");
      assert.equal(streamB.closeCode, 4404);
      assert.equal(streamB.of("error")[0]?.code, "not_found");
      assert.equal(streamB.of("ready").length + streamB.stripes.length, 0);
    }

    // Frames, pulls and WHEP: A gets A's device, B gets not_found exactly as for a device that does not exist.
    const frameA = await fetch(`${server.httpUrl}/api/devices/${deviceId}/frame.jpg`, { headers: a.headers });
    assert.equal(frameA.status, 200, "A pulls a frame of A's device");
    assert.equal(frameA.headers.get("content-type"), "image/jpeg");
    const bearer = (c: Caller) => ({ Authorization: `Bearer ${c.token}`, "Content-Type": "application/sdp" });
    for (const id of [deviceId, "no-such-device"]) {
      assert.equal((await fetch(`${server.httpUrl}/api/devices/${id}/frame.jpg`, { headers: b.headers })).status, 404, `B's frame.jpg of ${id}`);
      assert.equal((await fetch(`${server.httpUrl}/api/devices/${id}/snapshots`, { method: "POST", headers: b.headers })).status, 404, `B's snapshot of ${id}`);
      const whep = await fetch(`${server.httpUrl}/whep/${id}`, { method: "POST", headers: bearer(b), body: device.pc.localDescription!.sdp });
      assert.equal(whep.status, 404, `B's WHEP of ${id}`);
      const pull = new FallbackClient(`${server.wsUrl}/stream/${id}?mode=pull`, { type: "hello", token: b.token });
      cleanup.push(() => pull.close());
      await waitFor(() => pull.of("ready")[0], 5000, "B's pull stream ready");
      pull.send(JSON.stringify({ action: "pull" }));
      await waitFor(() => pull.texts.find((t) => t.action === "pull"), 5000, "B's pull answered");
      assert.deepEqual((pull.texts.find((t) => t.action === "pull")?.error as { code: string }).code, "not_found");
      assert.equal(pull.stripes.length, 0);
    }
    const jpeg = await frameA.arrayBuffer();

    // Device keys: A's key is A's alone, and what it publishes is A's.
    const made = await fetch(`${server.httpUrl}/api/keys`, {
      method: "POST",
      headers: { ...a.headers, "Content-Type": "application/json" },
      body: JSON.stringify({ label: "A's key" }),
    });
    assert.equal(made.status, 201, "A makes a key");
    const key = (await made.json()) as { id: string; key: string };
    const keysOf = async (c: Caller) =>
      ((await (await fetch(`${server.httpUrl}/api/keys`, { headers: c.headers })).json()) as { keys: Array<{ id: string }> }).keys;
    assert.deepEqual(
      (await keysOf(a)).map((k) => k.id),
      [key.id],
    );
    assert.deepEqual(await keysOf(b), [], "B lists no keys of A");
    assert.equal((await fetch(`${server.httpUrl}/api/keys/${key.id}/release`, { method: "POST", headers: b.headers })).status, 404, "B releases no key of A");
    assert.equal((await fetch(`${server.httpUrl}/api/keys/${key.id}`, { method: "DELETE", headers: b.headers })).status, 404, "B revokes no key of A");
    const keyed = await fetch(`${server.httpUrl}/api/devices/keyed-${deviceId}/frames`, {
      method: "POST",
      headers: { Authorization: `Bearer ${key.key}`, "Content-Type": "image/jpeg" },
      body: Buffer.from(jpeg),
    });
    assert.equal(keyed.status, 201, "A's key pushes a frame");
    assert.ok(
      (await devicesOf(server, a)).some((d) => d.id === `keyed-${deviceId}`),
      "into A's account",
    );
    assert.ok(!(await devicesOf(server, b)).some((d) => d.id === `keyed-${deviceId}`), "not B's");

    // B pushing frames under the same id makes B's own device; A's is untouched.
    const push = await fetch(`${server.httpUrl}/api/devices/${deviceId}/frames`, {
      method: "POST",
      headers: { ...b.headers, "Content-Type": "image/jpeg" },
      body: Buffer.from(jpeg),
    });
    assert.equal(push.status, 201, "B's push makes B's own device");
    assert.deepEqual(
      (await devicesOf(server, b)).map((d) => d.id),
      [deviceId],
    );
    assert.equal((await devicesOf(server, a)).find((d) => d.id === deviceId)?.tracks.length, 2, "A's device keeps its own tracks");
  } finally {
    for (const f of cleanup.reverse()) await f();
  }
}

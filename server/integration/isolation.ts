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
    assert.deepEqual(welcomeA.devices?.map((d) => d.id), [deviceId]);
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
  } finally {
    for (const f of cleanup.reverse()) await f();
  }
}

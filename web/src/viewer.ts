/**
 * The viewer at `/`: lists the account's devices and plays the one picked
 * (or named by `?device=ID`).
 *
 * Test hooks (e2e/ relies on these; keep them stable):
 * - `document.body.dataset.signaling`: "connecting" | "open" | "reconnecting" | "closed"
 * - `document.body.dataset.state`: "idle" | "connecting" | "connected" |
 *   "offline" | "reconnecting" | "error" (a one-word summary of the player)
 * - `#player` data attributes: `data-device-id`, `data-connection-state`
 *   (RTCPeerConnectionState or "none"), `data-device-state` ("unknown" |
 *   "online" | "offline"), `data-error` (error code, absent when none)
 * - `#devices button[data-device-id][data-online]`: one per listed device
 * - `window.tessera`: `{ deviceId, pc, stats, timeline, devices, signaling }`,
 *   read live (getters); `timeline` holds performance.now() milestones.
 */
import type { DeviceInfo, ServerMessage, Welcome } from "../../server/protocol/messages.js";
import { byId } from "./dom.js";
import { DeviceList } from "./device-list.js";
import { PlayerView } from "./player.js";
import { PROTOCOL, SignalingClient, signalingUrl, type SignalingState } from "./signaling.js";
import type { StatsSample } from "./stats.js";
import { Watch, type WatchTimeline } from "./watch.js";

/** What `window.tessera` exposes on the viewer page. */
export interface ViewerHooks {
  readonly deviceId: string | undefined;
  readonly pc: RTCPeerConnection | undefined;
  readonly stats: StatsSample | undefined;
  readonly timeline: WatchTimeline | undefined;
  readonly devices: readonly DeviceInfo[];
  readonly signaling: SignalingState;
}

declare global {
  interface Window {
    tessera?: unknown;
  }
}

const player = new PlayerView();
const list = new DeviceList(byId("devices"), (id) => select(id, true));
const status = byId("signaling-state");
let iceServers: RTCIceServer[] = [];
let watch: Watch | undefined;

const signaling = new SignalingClient(signalingUrl(), () => ({ type: "hello", role: "viewer", protocol: PROTOCOL }), {
  welcome(msg: Welcome) {
    iceServers = msg.iceServers;
    showDevices(msg.devices ?? []);
    watch?.start(iceServers);
  },
  message: route,
  state(state, detail) {
    document.body.dataset.signaling = state;
    status.textContent = state === "open" ? "connected" : state;
    status.dataset.state = state;
    status.title = detail ?? "";
    player.setSignaling(state);
  },
});

function route(msg: Exclude<ServerMessage, Welcome>): void {
  switch (msg.type) {
    case "devices":
      showDevices(msg.devices);
      return;
    case "offer":
    case "candidate":
    case "device_offline":
    case "watching":
    case "unwatched":
      if (watch && msg.deviceId === watch.deviceId) watch.handle(msg);
      return;
    case "error":
      if (watch && (msg.deviceId === undefined || msg.deviceId === watch.deviceId)) watch.handle(msg);
      else console.warn("tessera: server error", msg);
      return;
    case "answer":
      return; // only devices receive answers
  }
}

/** Updates the list; a watch refused as not_found is retried once its device shows up. */
function showDevices(devices: DeviceInfo[]): void {
  list.update(devices);
  const current = watch && devices.find((d) => d.id === watch?.deviceId);
  if (!watch || !current) return;
  player.rename(current.name);
  if (watch.lastError === "not_found") watch.start(iceServers);
}

/** Switches the player to `deviceId` (or to nothing). */
function select(deviceId: string | undefined, push: boolean): void {
  if (deviceId === watch?.deviceId) return;
  watch?.close(true);
  watch = undefined;
  list.select(deviceId);
  player.show(deviceId, list.all.find((d) => d.id === deviceId)?.name);
  if (push) history.pushState(null, "", deviceId ? `?device=${encodeURIComponent(deviceId)}` : location.pathname);
  if (!deviceId) return;
  watch = new Watch(deviceId, (m) => signaling.send(m), {
    stream: (s) => player.attach(s),
    connectionState: (s) => player.setConnection(s),
    deviceState: (s) => player.setDevice(s),
    stats: (s) => player.renderStats(s),
    error: (e) => player.setError(e),
  });
  if (signaling.state === "open") watch.start(iceServers);
}

const hooks: ViewerHooks = {
  get deviceId() {
    return watch?.deviceId;
  },
  get pc() {
    return watch?.pc;
  },
  get stats() {
    return watch?.stats;
  },
  get timeline() {
    return watch?.timeline;
  },
  get devices() {
    return list.all;
  },
  get signaling() {
    return signaling.state;
  },
};
window.tessera = hooks;

const deviceFromUrl = () => new URLSearchParams(location.search).get("device") || undefined;
window.addEventListener("popstate", () => select(deviceFromUrl(), false));
select(deviceFromUrl(), false);

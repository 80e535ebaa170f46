/**
 * The viewer at `/`: lists the account's devices and plays the one picked
 * (or named by `?device=ID`).
 *
 * Test hooks (e2e/ relies on these; keep them stable):
 * - `document.body.dataset.signaling`: "connecting" | "open" | "reconnecting" | "closed"
 * - `document.body.dataset.state`: "idle" | "connecting" | "connected" |
 *   "offline" | "reconnecting" | "error" (a one-word summary of the player)
 * - `#player` data attributes: `data-device-id`, `data-connection-state`
 *   (RTCPeerConnectionState or "none"; the fallback socket's state in the same
 *   words), `data-device-state` ("unknown" | "online" | "offline"),
 *   `data-error` (error code, absent when none), `data-transport` ("webrtc" |
 *   "ws_jpeg" | "ws_h264"), `data-switched` ("to:reason" of the last change
 *   of transport, e.g. "ws_jpeg:stalled" or "webrtc:probe")
 * - `?transport=auto|webrtc|ws` (default auto) and `&codec=jpeg|h264` pick how
 *   the picture arrives; `#canvas` shows the WebSocket fallback
 * - `#devices button[data-device-id][data-online]`: one per listed device
 * - `#player[data-control]`: "unknown" | "none" | "self" | "other", and
 *   `data-control-holder` (the holder's peer id) while another viewer controls
 * - `#control-toggle`, `#talk`, `#control-status`, `#quality-fps`,
 *   `#quality-bitrate`; `#device-status .chip[data-key]` (device state
 *   fields); `#device-clipboard-text`, `#device-clipboard-image`
 * - `#player-state` (the badge: Connecting, Live, Waiting, Server lost,
 *   Error), `#overlay`, `#transport-note` and `#retry-webrtc` (on the
 *   WebSocket stream), `#control[data-reachable]`, `#stats-toggle` and
 *   `#player[data-stats]` ("on" | "off"), `#audio-controls` (`#unmute`,
 *   `#volume`) and `#player[data-audio]`
 * - `#pointer-lock` and `#player[data-pointer-locked]` ("true" | "false")
 * - `#player[data-zoom]`: the local pinch zoom, "1.00" to "4.00"
 * - `#player[data-still]` ("true" while the device's latest picture stands in
 *   as `#video`'s poster, before its first frame); `[data-input-round-trip]`
 *   (ms, while in control) and `#latency`
 * - `#scale` and `#player[data-scale]` ("resize" | "fit" | "native"),
 *   `#scroller` (the picture's box, scrolling in 1:1)
 * - `body[data-touch]` ("true" on touch screens); `#soft-keyboard`,
 *   `#soft-input`, `#soft-keys button[data-key]` (Control, Alt, Shift latch:
 *   `aria-pressed`); `#control-ask` with `#control-hand-over`, `#control-keep`
 * - `#fullscreen`; `#player[data-fullscreen]` and `[data-keyboard-locked]`
 *   ("true" | "false"); `#remote-cursor` (the device's pointer drawn for
 *   watchers, with `data-hotspot-x`/`-y`)
 * - `window.tessera`: `{ deviceId, pc, stats, timeline, devices, signaling,
 *   peerId, control, input, pointer, sentLines, resolution, deviceState,
 *   deviceClipboard, talk, transport, fallback, probing, switches }`, read
 *   live (getters);
 *   `timeline` holds performance.now() milestones.
 */
import type { DeviceInfo, DeviceMessage, ServerMessage, Welcome } from "../../server/protocol/messages.js";
import type { StreamMessage } from "../../server/protocol/fallback.js";
import { RtcConfigSource } from "./rtc-config.js";
import { pageSession, showAccount } from "./page-session.js";
import { Controller, type InputChannel } from "./control.js";
import { byId } from "./dom.js";
import { DeviceList } from "./device-list.js";
import { transportFromQuery, type TransportChoice } from "./fallback/auto-fallback.js";
import { PlayerView, type Transport } from "./player.js";
import { ID_PATTERN, PROTOCOL, SignalingClient, signalingUrl, type SignalingState } from "./signaling.js";
import type { StatsSample } from "./stats.js";
import type { TalkState } from "./talk.js";
import { touchScreen } from "./soft-keyboard.js";
import { followNameField, storedName } from "./viewer-name.js";
import { Viewing, type FallbackCause, type TransportSwitch } from "./viewing.js";
import { StillPicture } from "./still.js";
import type { WatchTimeline } from "./watch.js";

/** What `window.tessera` exposes on the viewer page. */
export interface ViewerHooks {
  readonly deviceId: string | undefined;
  readonly pc: RTCPeerConnection | undefined;
  readonly stats: StatsSample | undefined;
  readonly timeline: WatchTimeline | undefined;
  readonly devices: readonly DeviceInfo[];
  readonly signaling: SignalingState;
  /** This viewer's peer id (from the last `welcome`). */
  readonly peerId: string | undefined;
  /** Who controls the watched device: the holder's peer id, null when free, undefined when unknown. */
  readonly control: { holder: string | null | undefined; mine: boolean };
  /** The `input` data channel of the current connection, or the fallback socket. */
  readonly input: InputChannel | undefined;
  /** The `pointer` data channel beside `input` (unordered, never resent), when there is one. */
  readonly pointer: RTCDataChannel | undefined;
  /** The last input lines this viewer sent, oldest first. */
  readonly sentLines: readonly string[];
  readonly resolution: { width: number; height: number } | undefined;
  readonly deviceState: DeviceMessage | undefined;
  readonly deviceClipboard: { text: string } | { png: string } | undefined;
  /** Push-to-talk state. */
  readonly talk: TalkState;
  /** How the picture arrives now. */
  readonly transport: Transport | undefined;
  /** The WebSocket fallback, while in use. */
  readonly fallback:
    { peerId: string | undefined; framesPainted: number; stream: StreamMessage | undefined; socket: string; reason: string | undefined } | undefined;
  /** True while WebRTC is tried again behind the fallback stream. */
  readonly probing: boolean;
  /** Every change of transport in this document, oldest first. */
  readonly switches: readonly TransportSwitch[];
}

declare global {
  interface Window {
    tessera?: unknown;
  }
}

document.body.dataset.touch = String(touchScreen());
const player = new PlayerView({ retry: () => retryWebRtc(), lost: (why) => control.setLost(why) });
const list = new DeviceList(
  byId("devices"),
  (id) => select(id, true),
  (id) => void forget(id),
);
const status = byId("signaling-state");
const control = new Controller(
  player.picture,
  (m) => signaling.send(m),
  (ms) => player.setInputRoundTrip(ms),
);
const session = pageSession();
const ice = new RtcConfigSource(undefined, undefined, async (url) => fetch(url, { credentials: "same-origin", headers: await session.headers() }));
const still = new StillPicture(player.video, byId("player"), () => session.headers());
const choice = transportFromQuery(location.search);
const fellBack = new Map<string, FallbackCause>();
/** Every change of transport in this document, oldest first (tests read them). */
const switches: TransportSwitch[] = [];
let watch: Viewing | undefined;
/** The watch already sent behind this socket's hello: its welcome does not send it again. */
let watchedEarly: Viewing | undefined;
let peerId: string | undefined;

/** The signaling socket index.html's head opened while this script loaded, taken once. */
function headStartSocket(): WebSocket | undefined {
  const w = window as { tesseraSocket?: unknown };
  const ws = w.tesseraSocket;
  delete w.tesseraSocket;
  return ws instanceof WebSocket ? ws : undefined;
}

const signaling = new SignalingClient(
  signalingUrl(location),
  async () => ({ type: "hello", role: "viewer", protocol: PROTOCOL, token: await session.token(), name: storedName() }),
  {
    opened() {
      watch?.start();
      watchedEarly = watch;
    },
    welcome(msg: Welcome) {
      showAccount(byId("acting-account"), msg.account);
      ice.seed(msg.iceServers, msg.iceTtl);
      peerId = msg.peerId;
      control.setPeerId(msg.peerId);
      showDevices(msg.devices ?? []);
      if (watch !== watchedEarly) watch?.start();
      watchedEarly = undefined;
    },
    message: route,
    state(state, detail) {
      document.body.dataset.signaling = state;
      status.textContent = state === "open" ? "connected" : state;
      status.dataset.state = state;
      status.title = detail ?? "";
      player.setSignaling(state);
      watch?.signalingState(state);
    },
  },
  headStartSocket(),
);

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
    case "layer":
      if (msg.deviceId !== watch?.deviceId) return;
      player.setLayer(msg);
      watch.layerState(msg);
      return;
    case "control":
      watch?.controlChanged(msg);
      control.controlChanged(msg);
      return;
    case "control_request":
      // The page's own other transport asking is control moving with it (web/src/control-carry.ts).
      if (msg.deviceId === watch?.deviceId && !watch.asked(msg.from)) control.asked(msg.from, msg.fromName);
      return;
    case "error":
      if (msg.ref === "control") {
        if (!watch?.refused(msg.code)) control.refused(msg);
      } else if (watch && (msg.deviceId === undefined || msg.deviceId === watch.deviceId)) watch.handle(msg);
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
  if (watch.lastError === "not_found") watch.start();
}

/** On the WebSocket stream, the viewer asked to try WebRTC again: watch anew, WebRTC first (and back to the stream if it fails again). */
function retryWebRtc(): void {
  const deviceId = watch?.deviceId;
  if (!deviceId) return;
  fellBack.delete(deviceId);
  select(deviceId, false, choice.transport === "webrtc" ? "webrtc" : "auto");
}

/** Takes an offline device off the account's list (the server's `devices` message then updates every page). */
async function forget(deviceId: string): Promise<void> {
  const res = await fetch(`/api/devices/${encodeURIComponent(deviceId)}`, { method: "DELETE", credentials: "same-origin", headers: await session.headers() });
  if (!res.ok) {
    const body = (await res.json().catch(() => undefined)) as { error?: { message?: string } } | undefined;
    console.warn(`tessera: could not remove ${deviceId}: ${body?.error?.message ?? res.status}`);
  }
}

/** Switches the player to `deviceId` (or to nothing); a `transport` watches again even the same device. */
function select(deviceId: string | undefined, push: boolean, transport?: TransportChoice): void {
  if (deviceId === watch?.deviceId && !transport) return;
  // First, so the keys and buttons held on the old device are released on its channel.
  control.watch(deviceId);
  watch?.close(true);
  watch = undefined;
  list.select(deviceId);
  player.show(deviceId, list.all.find((d) => d.id === deviceId)?.name);
  void still.show(deviceId);
  if (push) {
    // The transport and codec asked for stay in the address from device to device.
    const params = new URLSearchParams(location.search);
    if (deviceId) params.set("device", deviceId);
    else params.delete("device");
    const query = params.toString();
    history.pushState(null, "", `${location.pathname}${query ? `?${query}` : ""}`);
  }
  if (!deviceId) return;
  watch = new Viewing(deviceId, transport ?? choice.transport, choice.codec, {
    signal: (m) => signaling.send(m),
    ice,
    player,
    control,
    fellBack,
    peerId: () => peerId,
    switched: (s) => {
      switches.push(s);
      player.setSwitch(s);
    },
    hello: async () => {
      const token = await session.token();
      const name = storedName();
      return { type: "hello", ...(token ? { token } : {}), ...(name ? { name } : {}) };
    },
  });
  watch.sendView(viewSize());
  if (signaling.state === "open") watch.start();
}

/** The size the picture is shown at, in device pixels (a simulcast device's layer follows it). */
function viewSize(): { width: number; height: number } | undefined {
  const v = player.video;
  const dpr = window.devicePixelRatio || 1;
  return v.clientWidth > 0 && v.clientHeight > 0 ? { width: Math.round(v.clientWidth * dpr), height: Math.round(v.clientHeight * dpr) } : undefined;
}
let viewTimer: number | undefined;
new ResizeObserver(() => {
  clearTimeout(viewTimer);
  viewTimer = window.setTimeout(() => watch?.sendView(viewSize()), 300);
}).observe(player.video);

followNameField(byId<HTMLInputElement>("viewer-name"), (name) => {
  signaling.send({ type: "name", name });
  control.rename(name);
});

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
  get peerId() {
    return peerId;
  },
  get control() {
    return { holder: control.holderId, mine: control.mine };
  },
  get input() {
    return control.channel;
  },
  get pointer() {
    return control.pointerChannel;
  },
  get sentLines() {
    return control.sentLines;
  },
  get resolution() {
    return control.resolution;
  },
  get deviceState() {
    return control.deviceState;
  },
  get deviceClipboard() {
    return control.deviceClipboard;
  },
  get talk() {
    return control.talkState;
  },
  get transport() {
    return watch?.transport;
  },
  get fallback() {
    const f = watch?.fallbackWatch;
    return f && { peerId: f.peerId, framesPainted: f.framesPainted, stream: f.stream, socket: f.socketState, reason: watch?.fallbackReason };
  },
  get probing() {
    return watch?.probing ?? false;
  },
  switches,
};
window.tessera = hooks;

/** `?device=`, when it is an id a device can have: anything else would only put a link's text in the page. */
const deviceFromUrl = () => {
  const id = new URLSearchParams(location.search).get("device");
  return id && ID_PATTERN.test(id) ? id : undefined;
};
window.addEventListener("popstate", () => select(deviceFromUrl(), false));
select(deviceFromUrl(), false);

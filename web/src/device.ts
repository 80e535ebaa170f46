/**
 * The device page (`/device.html`): turns this browser into a device that
 * publishes its camera or screen. URL parameters drive it for tests and
 * kiosks: `?id=X&name=Y&source=camera|screen&autostart=1`.
 *
 * Test hooks (e2e/ relies on these; keep them stable):
 * - `document.body.dataset.state`: "idle" | "capturing" | "connecting" |
 *   "publishing" | "reconnecting" | "error"
 * - `document.body.dataset.connectionState`: RTCPeerConnectionState or "none"
 * - `window.tessera`: `{ deviceId, pc, stream, state, offers }`, read live.
 */
import type { DeviceKind, ErrorMessage, ServerMessage, Welcome } from "../../server/protocol/messages.js";
import { byId } from "./dom.js";
import { Publisher } from "./publisher.js";
import { PROTOCOL, SignalingClient, signalingUrl } from "./signaling.js";

/** What `window.tessera` exposes on the device page. */
export interface DeviceHooks {
  readonly deviceId: string;
  readonly pc: RTCPeerConnection | undefined;
  readonly stream: MediaStream | undefined;
  readonly state: PageState;
  readonly offers: number;
}

type PageState = "idle" | "capturing" | "connecting" | "publishing" | "reconnecting" | "error";
type Source = "camera" | "screen";

declare global {
  interface Window {
    tessera?: unknown;
  }
}

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const STORE = { id: "tessera.device.id", name: "tessera.device.name" };

const idInput = byId<HTMLInputElement>("device-id");
const nameInput = byId<HTMLInputElement>("device-name");
const cameraButton = byId<HTMLButtonElement>("publish-camera");
const screenButton = byId<HTMLButtonElement>("publish-screen");
const stopButton = byId<HTMLButtonElement>("stop");
const preview = byId<HTMLVideoElement>("preview");
const stateText = byId("device-state");
const message = byId("device-message");
const watchLink = byId<HTMLAnchorElement>("watch-link");

let state: PageState = "idle";
let stream: MediaStream | undefined;
let publisher: Publisher | undefined;
let signaling: SignalingClient | undefined;

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(4));
  return "dev-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function stored(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null; // storage disabled
  }
}

function store(key: string, value: string): void {
  try {
    localStorage.setItem(key, value);
  } catch {
    // storage disabled: the id simply is not remembered
  }
}

function setState(next: PageState, detail = ""): void {
  state = next;
  document.body.dataset.state = next;
  stateText.textContent = next;
  stateText.dataset.state = next;
  if (detail || next !== "error") message.textContent = detail;
  const live = next !== "idle" && next !== "error";
  stopButton.disabled = !live;
  idInput.disabled = nameInput.disabled = live;
}

function setConnection(s: RTCPeerConnectionState | "none"): void {
  document.body.dataset.connectionState = s;
  if (state === "idle" || state === "error" || state === "capturing") return;
  if (s === "connected") setState("publishing");
  else if (s === "failed" || s === "disconnected") setState("reconnecting", "media connection lost; offering again…");
  else if (state !== "reconnecting" || s === "connecting") setState("connecting");
}

function showError(err: Pick<ErrorMessage, "code" | "message">): void {
  message.textContent = `${err.message} (${err.code})`;
}

async function capture(source: Source): Promise<MediaStream> {
  if (source === "screen") return navigator.mediaDevices.getDisplayMedia({ video: { frameRate: 30 }, audio: true });
  try {
    return await navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720 }, audio: true });
  } catch (err) {
    // A camera without a microphone still publishes.
    if (err instanceof DOMException && (err.name === "NotFoundError" || err.name === "NotReadableError")) {
      return navigator.mediaDevices.getUserMedia({ video: true });
    }
    throw err;
  }
}

function deviceIdentity(): { id: string; name: string } | undefined {
  const id = idInput.value.trim();
  const name = nameInput.value.trim() || id;
  if (!ID_PATTERN.test(id)) {
    setState("error", "Device id: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit.");
    return undefined;
  }
  return { id, name: name.slice(0, 128) };
}

async function publish(source: Source): Promise<void> {
  stop();
  const identity = deviceIdentity();
  if (!identity) return;
  setState("capturing", source === "screen" ? "Choose what to share…" : "Opening the camera…");
  let media: MediaStream;
  try {
    media = await capture(source);
  } catch (err) {
    setState("error", `Cannot capture the ${source}: ${err instanceof Error ? err.message : String(err)}`);
    return;
  }
  stream = media;
  preview.srcObject = media;
  watchLink.href = `/?device=${encodeURIComponent(identity.id)}`;
  watchLink.hidden = false;
  // The user ending a screen share (browser UI) ends publishing.
  for (const t of media.getVideoTracks()) t.addEventListener("ended", () => stream === media && stop());
  const kind: DeviceKind = source;
  const pub = new Publisher(media, (m) => signaling?.send(m) ?? false, { connectionState: setConnection, error: showError });
  publisher = pub;
  setState("connecting");
  signaling = new SignalingClient(
    signalingUrl(),
    () => ({ type: "hello", role: "device", protocol: PROTOCOL, device: { id: identity.id, name: identity.name, kind } }),
    {
      welcome: (msg: Welcome) => {
        setState("connecting");
        pub.start(msg.iceServers);
      },
      message: (msg: Exclude<ServerMessage, Welcome>) => {
        if (msg.type === "answer" || msg.type === "candidate" || msg.type === "error") pub.handle(msg);
      },
      state: (s, detail) => {
        document.body.dataset.signaling = s;
        if (s === "reconnecting") {
          pub.suspend();
          setState("reconnecting", `signaling lost (${detail ?? "closed"}); reconnecting…`);
        }
        if (s === "closed" && publisher === pub) setState("error", detail ?? "signaling closed");
      },
    },
  );
}

/** Stops publishing: says bye, closes the connection, releases the camera. */
function stop(): void {
  const s = signaling;
  signaling = undefined;
  publisher?.close();
  publisher = undefined;
  s?.close();
  for (const t of stream?.getTracks() ?? []) t.stop();
  stream = undefined;
  preview.srcObject = null;
  document.body.dataset.connectionState = "none";
  setState("idle");
}

const hooks: DeviceHooks = {
  get deviceId() {
    return idInput.value;
  },
  get pc() {
    return publisher?.pc;
  },
  get stream() {
    return stream;
  },
  get state() {
    return state;
  },
  get offers() {
    return publisher?.offers ?? 0;
  },
};
window.tessera = hooks;

const params = new URLSearchParams(location.search);
idInput.value = params.get("id") ?? stored(STORE.id) ?? randomId();
nameInput.value = params.get("name") ?? stored(STORE.name) ?? "Browser device";
if (!params.has("id")) store(STORE.id, idInput.value);
idInput.addEventListener("change", () => store(STORE.id, idInput.value.trim()));
nameInput.addEventListener("change", () => store(STORE.name, nameInput.value.trim()));
cameraButton.addEventListener("click", () => void publish("camera"));
screenButton.addEventListener("click", () => void publish("screen"));
stopButton.addEventListener("click", stop);
window.addEventListener("pagehide", stop);
setState("idle");
document.body.dataset.connectionState = "none";

const source = params.get("source") === "screen" ? "screen" : "camera";
if (params.get("autostart") === "1") void publish(source);

/**
 * The device page (`/device.html`): turns this browser into a device that
 * publishes its camera or screen. URL parameters drive it for tests and
 * kiosks: `?id=X&name=Y&source=camera|screen&autostart=1`, and
 * `&size=WxH` (the camera's size, default 1280x720), `&simulcast=0` (one layer),
 * `&codec=vp8|vp9|h264` (the video codec to send, default VP8).
 *
 * Test hooks (e2e/ relies on these; keep them stable):
 * - `document.body.dataset.state`: "idle" | "capturing" | "connecting" |
 *   "publishing" | "reconnecting" | "error"
 * - `document.body.dataset.connectionState`: RTCPeerConnectionState or "none"
 * - `window.tessera`: `{ deviceId, pc, stream, state, offers, inputLines,
 *   resolution, talkback }`, read live: `inputLines` are the lines viewers
 *   sent on `input`, `resolution` the stream size last reported to viewers,
 *   `talkback` the receive track of the controlling viewer's voice.
 * - `#input-lines li` (newest first), `#pointer-dot`, `#received-clipboard`,
 *   `#led-1`, `#led-2`, `#battery`, `#clipboard-text`, `#send-clipboard`.
 */
import type { DeviceKind, DeviceMessage, ErrorMessage, ServerMessage, Welcome } from "../../server/protocol/messages.js";
import { RtcConfigSource } from "./rtc-config.js";
import { confirmCredentialFromLink, credentialFromLink, pageSession, showAccount } from "./page-session.js";
import { storedDeviceKey } from "./session.js";
import { DemoStateControls } from "./demo-state.js";
import { DeviceInputPanel } from "./device-input.js";
import { byId } from "./dom.js";
import { SentFrameSize } from "./frame-size.js";
import { Publisher, type PublishCodec } from "./publisher.js";
import { ID_PATTERN, PROTOCOL, SignalingClient, signalingUrl } from "./signaling.js";

/** What `window.tessera` exposes on the device page. */
export interface DeviceHooks {
  readonly deviceId: string;
  readonly pc: RTCPeerConnection | undefined;
  readonly stream: MediaStream | undefined;
  readonly state: PageState;
  readonly offers: number;
  readonly inputLines: readonly string[];
  readonly resolution: { width: number; height: number } | undefined;
  readonly talkback: MediaStreamTrack | undefined;
}

type PageState = "idle" | "capturing" | "connecting" | "publishing" | "reconnecting" | "error";
type Source = "camera" | "screen";

declare global {
  interface Window {
    tessera?: unknown;
  }
}

const STORE = { id: "tessera.device.id", name: "tessera.device.name" };

const idInput = byId<HTMLInputElement>("device-id");
const nameInput = byId<HTMLInputElement>("device-name");
const cameraButton = byId<HTMLButtonElement>("publish-camera");
const screenButton = byId<HTMLButtonElement>("publish-screen");
const stopButton = byId<HTMLButtonElement>("stop");
// Phones and some browsers cannot capture a screen: no button that can only fail.
screenButton.hidden = typeof navigator.mediaDevices?.getDisplayMedia !== "function";
const preview = byId<HTMLVideoElement>("preview");
const stateText = byId("device-state");
const message = byId("device-message");
const watchLink = byId<HTMLAnchorElement>("watch-link");
const talkbackAudio = byId<HTMLAudioElement>("talkback");
const talkbackEnable = byId<HTMLButtonElement>("talkback-enable");
const accountText = byId("acting-account");

let state: PageState = "idle";
let stream: MediaStream | undefined;
let publisher: Publisher | undefined;
let signaling: SignalingClient | undefined;
const session = pageSession();
/** A device key from a `#key=` fragment: the page then publishes with it, needing no user sign-in. */
const deviceKey = storedDeviceKey(sessionStorage);
// Without a key, show the Firebase sign-in form (when the server has one) before the first publish asks for it.
if (!deviceKey) session.prepare();
/** Headers for the API calls the page makes: the device key as Bearer token, or the session's. */
const apiHeaders = async () => (deviceKey ? { Authorization: `Bearer ${deviceKey}` } : await session.headers());
let frameSize: SentFrameSize | undefined;
let talkback: MediaStreamTrack | undefined;

const demo = new DemoStateControls((s) => panel.send({ type: "state", ...s }));
const panel = new DeviceInputPanel(preview, () => {
  const now: DeviceMessage[] = [{ type: "state", ...demo.state }];
  if (panel.streamSize) now.unshift({ type: "resolution", ...panel.streamSize });
  return now;
});

/** Device keys (their ids) whose links the user of this browser started by hand: such a link may start by itself again (a kiosk). */
const CONFIRMED_KEYS = "tessera.confirmedKeys";
const LINK_CONFIRM =
  "This link signs the page in with a device key or token from whoever made it, and what you publish goes to their account. " +
  "Press Publish camera or Publish screen if you trust it.";

function confirmedKeys(): string[] {
  try {
    const ids: unknown = JSON.parse(stored(CONFIRMED_KEYS) ?? "[]");
    return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === "string") : [];
  } catch {
    return [];
  }
}

/** A link put a credential in this tab (on this load or an earlier one) that the user has not started by hand. */
function linkUnconfirmed(): boolean {
  const link = credentialFromLink();
  return link !== undefined && !(link.kind === "key" && confirmedKeys().includes(link.keyId));
}

/** The user starts publishing by hand: a key the link carried is theirs to start by itself from now on. */
function confirmLink(): void {
  const link = credentialFromLink();
  if (link?.kind === "key" && !confirmedKeys().includes(link.keyId)) store(CONFIRMED_KEYS, JSON.stringify([...confirmedKeys(), link.keyId].slice(-32)));
  confirmCredentialFromLink();
}

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

/** Plays the controlling viewer's voice; a browser that wants a click first gets a button. */
function setTalkback(track: MediaStreamTrack | undefined): void {
  talkback = track;
  talkbackAudio.srcObject = track ? new MediaStream([track]) : null;
  talkbackEnable.hidden = true;
  if (track) talkbackAudio.play().catch(() => (talkbackEnable.hidden = false));
}

function showError(err: Pick<ErrorMessage, "code" | "message">): void {
  message.textContent = `${err.message} (${err.code})`;
}

/** `?size=WxH`: the camera size asked for (default 1280x720). */
/** The `codec` URL parameter, or VP8 when it names none Tessera takes. */
function publishCodec(value: string | null): PublishCodec {
  return value === "vp9" || value === "h264" ? value : "vp8";
}

function cameraSize(): { width: number; height: number } {
  const m = /^(\d{2,4})x(\d{2,4})$/.exec(new URLSearchParams(location.search).get("size") ?? "");
  return m ? { width: Number(m[1]), height: Number(m[2]) } : { width: 1280, height: 720 };
}

async function capture(source: Source): Promise<MediaStream> {
  if (source === "screen") return navigator.mediaDevices.getDisplayMedia({ video: { frameRate: 30 }, audio: true });
  try {
    return await navigator.mediaDevices.getUserMedia({ video: cameraSize(), audio: true });
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
  const ice = new RtcConfigSource(undefined, undefined, async (url) => fetch(url, { credentials: "same-origin", headers: await apiHeaders() }));
  const pub = new Publisher(
    media,
    (m) => signaling?.send(m) ?? false,
    {
      connectionState: setConnection,
      error: showError,
      input: (c) => panel.setChannel(c),
      talkback: setTalkback,
    },
    ice,
    new URLSearchParams(location.search).get("simulcast") !== "0",
    publishCodec(new URLSearchParams(location.search).get("codec")),
  );
  publisher = pub;
  frameSize = new SentFrameSize(
    () => pub.pc,
    media.getVideoTracks()[0],
    (size) => panel.setSize(size),
  );
  setState("connecting");
  signaling = new SignalingClient(
    signalingUrl(location),
    async () => ({
      type: "hello",
      role: "device",
      protocol: PROTOCOL,
      device: { id: identity.id, name: identity.name, kind },
      ...(deviceKey ? { key: deviceKey } : { token: await session.token() }),
    }),
    {
      welcome: (msg: Welcome) => {
        showAccount(accountText, msg.account);
        setState("connecting");
        ice.seed(msg.iceServers, msg.iceTtl);
        pub.start();
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
  frameSize?.close();
  frameSize = undefined;
  panel.clear();
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
  get inputLines() {
    return panel.lines;
  },
  get resolution() {
    return panel.streamSize;
  },
  get talkback() {
    return talkback;
  },
};
window.tessera = hooks;

const params = new URLSearchParams(location.search);
idInput.value = params.get("id") ?? stored(STORE.id) ?? randomId();
nameInput.value = params.get("name") ?? stored(STORE.name) ?? "Browser device";
if (!params.has("id")) store(STORE.id, idInput.value);
idInput.addEventListener("change", () => store(STORE.id, idInput.value.trim()));
nameInput.addEventListener("change", () => store(STORE.name, nameInput.value.trim()));
cameraButton.addEventListener("click", () => (confirmLink(), void publish("camera")));
screenButton.addEventListener("click", () => (confirmLink(), void publish("screen")));
stopButton.addEventListener("click", stop);
talkbackEnable.addEventListener("click", () => {
  talkbackEnable.hidden = true;
  talkbackAudio.play().catch(() => (talkbackEnable.hidden = false));
});
window.addEventListener("pagehide", stop);
setState("idle");
document.body.dataset.connectionState = "none";

const source = params.get("source") === "screen" ? "screen" : "camera";
if (params.get("autostart") === "1") {
  // A link that carries its own credential publishes to whoever made it: any website could send this browser
  // there with the camera it allowed this origin (and load the tab again without the fragment, the credential
  // still in its storage). It starts by itself only with a key confirmed here before.
  if (linkUnconfirmed()) message.textContent = LINK_CONFIRM;
  else void publish(source);
}

import type { ErrorMessage, LayerState } from "../../server/protocol/messages.js";
import { byId, el } from "./dom.js";
import { Picture } from "./picture.js";
import { statsRows, type StatsSample } from "./stats.js";
import type { SignalingState } from "./signaling.js";
import type { DeviceState } from "./watch.js";

/** The badge beside the title, per body[data-state]. */
const BADGE: Record<string, string> = {
  idle: "",
  connecting: "Connecting",
  connected: "Live",
  offline: "Waiting",
  reconnecting: "Server lost",
  error: "Error",
};

/** How the picture arrives. */
export type Transport = StatsSample["transport"];

/** Why the picture comes over the WebSocket stream, as people read it. */
const FALLBACK_WHY: Record<string, string> = {
  no_offer: "the server sent no WebRTC offer in time",
  not_connected: "WebRTC did not connect within 4 s",
  failed: "the WebRTC connection failed",
  no_codec: "this browser cannot decode the device's video over WebRTC",
  lost: "the WebRTC connection was lost (trying it again in the background)",
  stalled: "the WebRTC picture stalled while data still came (trying it again in the background)",
  too_slow: "the link cannot carry even the smallest WebRTC picture (trying it again in the background)",
  asked: "as the address asks",
};

/** The last change of transport as the stats overlay words it. */
function switchLabel(s: { to: Transport; reason: string; controlKept?: boolean }): string {
  const to = s.to === "webrtc" ? "WebRTC" : "WebSocket";
  const control = s.controlKept === undefined ? "" : s.controlKept ? ", control kept" : ", control lost";
  return `to ${to} (${s.reason === "probe" ? "probe passed" : s.reason}${control})`;
}

/** Where the stats overlay's on/off choice is kept. */
const STATS_KEY = "tessera.stats";
/** Below this width the stats overlay starts off: it would cover most of a phone's picture. */
const STATS_MIN_WIDTH = 700;
/** Nor on a window this short (a phone on its side). */
const STATS_MIN_HEIGHT = 500;

/**
 * The player panel: one persistent <video> (WebRTC) and a <canvas> (the
 * WebSocket fallback), one shown at a time, an overlay for waiting/offline/
 * error in plain words, a stats overlay with its toggle, mute and volume
 * (only while the picture brings sound), and, on the WebSocket stream, why
 * and a "Try WebRTC again" button. State is mirrored on #player as data
 * attributes (see viewer.ts for the list tests rely on).
 */
export class PlayerView {
  readonly video = byId<HTMLVideoElement>("video");
  readonly picture = new Picture(this.video, byId<HTMLCanvasElement>("canvas"));
  private readonly root = byId("player");
  private readonly title = byId("player-title");
  private readonly badge = byId("player-state");
  private readonly overlay = byId("overlay");
  private readonly statsBox = byId("stats");
  private readonly unmute = byId<HTMLButtonElement>("unmute");
  private readonly volume = byId<HTMLInputElement>("volume");
  private readonly audioControls = byId("audio-controls");
  private readonly statsToggle = byId<HTMLButtonElement>("stats-toggle");
  private readonly transportNote = byId("transport-note");
  private readonly retry = byId<HTMLButtonElement>("retry-webrtc");
  private readonly latency = byId("latency");
  private sample: StatsSample | undefined;
  /** The input round trip while this viewer controls, ms. */
  private inputMs: number | undefined;
  /** The last change of transport, in words. */
  private switched: string | undefined;
  /** The simulcast layer the server sends this viewer, and its estimate of the viewer's bandwidth. */
  private layer: LayerState | undefined;
  private name = "";
  /** What the last `lost` event said. */
  private lost: string | undefined;
  private connection: RTCPeerConnectionState | "none" = "none";
  private device: DeviceState = "unknown";
  private error: Pick<ErrorMessage, "code" | "message"> | null = null;
  private signaling: SignalingState = "connecting";

  /**
   * `events.retry` runs when the viewer asks to try WebRTC again from the
   * WebSocket stream; `events.lost` hears, in words, that the server or the
   * device is gone (undefined once both are back), so the control bar says so too.
   */
  constructor(private readonly events: { retry(): void; lost(why: string | undefined): void }) {
    this.unmute.addEventListener("click", () => {
      this.video.muted = !this.video.muted;
      if (!this.video.muted) void this.video.play().catch(() => undefined);
      this.renderMute();
    });
    this.volume.addEventListener("input", () => {
      this.video.volume = Number(this.volume.value);
      if (this.video.muted && this.video.volume > 0) this.unmute.click();
    });
    this.video.addEventListener("volumechange", () => this.renderMute());
    this.retry.addEventListener("click", () => events.retry());
    let stats = localStorage.getItem(STATS_KEY);
    stats ??= window.innerWidth >= STATS_MIN_WIDTH && window.innerHeight >= STATS_MIN_HEIGHT ? "on" : "off";
    this.setStatsShown(stats === "on");
    this.statsToggle.addEventListener("click", () => {
      const on = this.root.dataset.stats !== "on";
      localStorage.setItem(STATS_KEY, on ? "on" : "off");
      this.setStatsShown(on);
    });
    this.renderMute();
    this.render();
  }

  /** Shows the player for a device, or the empty state for none. */
  show(deviceId: string | undefined, name?: string): void {
    this.root.hidden = false;
    this.root.dataset.deviceId = deviceId ?? "";
    this.name = deviceId ? (name ?? deviceId) : "";
    this.title.textContent = deviceId ? this.name : "No device selected";
    this.setFallback(undefined);
    this.switched = undefined;
    delete this.root.dataset.switched;
    this.setLayer(undefined);
    if (!deviceId) {
      this.setTransport("webrtc");
      this.video.srcObject = null;
      this.setConnection("none");
      this.setDevice("unknown");
      this.setError(null);
    }
    this.render();
  }

  /** The watched device's display name changed (or became known). */
  rename(name: string): void {
    if (!this.root.dataset.deviceId) return;
    this.name = name;
    this.title.textContent = name;
    this.render();
  }

  /** Shows the element of `transport` and names it on #player[data-transport]. */
  setTransport(transport: Transport): void {
    this.root.dataset.transport = transport;
    this.picture.showCanvas(transport !== "webrtc");
    if (transport !== "webrtc") {
      this.video.srcObject = null;
      this.renderAudio();
    }
  }

  /** On the WebSocket stream: why (a FallbackReason, or "asked"); undefined on WebRTC. */
  setFallback(reason: string | undefined): void {
    this.transportNote.hidden = this.retry.hidden = reason === undefined;
    this.transportNote.textContent = reason === undefined ? "" : `WebSocket stream: ${FALLBACK_WHY[reason] ?? reason}`;
  }

  /** The page changed transport (and why): the stats overlay says so, `#player[data-switched]` is "to:reason". */
  setSwitch(s: { to: Transport; reason: string; controlKept?: boolean }): void {
    this.switched = switchLabel(s);
    this.root.dataset.switched = `${s.to}:${s.reason}`;
    this.renderStats(this.sample);
  }

  /**
   * The server's `layer` for the watched device (undefined when none): the
   * overlay shows it; `#player[data-layer]` is "layer/layers" (1 lowest) and,
   * for a layer in temporal layers, `data-temporal` "forwarded/all".
   */
  setLayer(layer: LayerState | undefined): void {
    this.layer = layer;
    if (layer) this.root.dataset.layer = `${layer.layer + 1}/${layer.layers}`;
    else delete this.root.dataset.layer;
    if (layer?.temporal !== undefined && layer.temporalLayers) this.root.dataset.temporal = `${layer.temporal + 1}/${layer.temporalLayers}`;
    else delete this.root.dataset.temporal;
    this.renderStats(this.sample);
  }

  attach(stream: MediaStream): void {
    this.video.srcObject = stream;
    stream.addEventListener("addtrack", () => this.renderAudio());
    stream.addEventListener("removetrack", () => this.renderAudio());
    this.renderAudio();
    void this.video.play().catch(() => undefined);
  }

  setConnection(state: RTCPeerConnectionState | "none"): void {
    this.connection = state;
    if (state === "none" || state === "closed") this.renderStats(undefined);
    this.render();
  }

  setDevice(state: DeviceState): void {
    this.device = state;
    this.render();
  }

  /** The server drops our subscriptions with the socket, so a lost socket means the picture has stopped. */
  setSignaling(state: SignalingState): void {
    this.signaling = state;
    this.render();
  }

  setError(err: Pick<ErrorMessage, "code" | "message"> | null): void {
    this.error = err;
    this.render();
  }

  renderStats(sample: StatsSample | undefined): void {
    this.sample = sample;
    this.renderLatency();
    if (!sample) {
      this.statsBox.replaceChildren();
      return;
    }
    const rows = statsRows(sample, { inputMs: this.inputMs, switched: this.switched, layer: this.layer }).flatMap(([k, v]) => [
      el("dt", "", k),
      el("dd", "", v),
    ]);
    this.statsBox.replaceChildren(...rows);
  }

  /** The input round trip while this viewer controls the device (undefined otherwise). */
  setInputRoundTrip(ms: number | undefined): void {
    this.inputMs = ms;
    this.renderLatency();
  }

  /** The media bar's latency figure: the browser's playout delay, and the input round trip while in control. */
  private renderLatency(): void {
    const delay = this.sample?.delayMs;
    const parts = [
      ...(delay == null ? [] : [`delay ${Math.round(delay)} ms`]),
      ...(this.inputMs === undefined ? [] : [`input ${Math.round(this.inputMs)} ms`]),
    ];
    this.latency.textContent = parts.join(" · ");
    this.latency.hidden = parts.length === 0;
    if (this.inputMs === undefined) delete this.root.dataset.inputRoundTrip;
    else this.root.dataset.inputRoundTrip = String(Math.round(this.inputMs));
  }

  private renderMute(): void {
    this.unmute.textContent = this.video.muted ? "Unmute" : "Mute";
    this.unmute.setAttribute("aria-pressed", String(!this.video.muted));
    this.volume.value = String(this.video.muted ? 0 : this.video.volume);
  }

  /** Mute and volume show only while the picture brings sound (never on the WebSocket stream). */
  private renderAudio(): void {
    const stream = this.video.srcObject;
    const audio = stream instanceof MediaStream && stream.getAudioTracks().length > 0;
    this.audioControls.hidden = !audio;
    this.root.dataset.audio = String(audio);
  }

  private setStatsShown(on: boolean): void {
    this.root.dataset.stats = on ? "on" : "off";
    this.statsToggle.setAttribute("aria-pressed", String(on));
  }

  private render(): void {
    const watching = Boolean(this.root.dataset.deviceId);
    this.root.dataset.connectionState = this.connection;
    this.root.dataset.deviceState = this.device;
    if (this.error) this.root.dataset.error = this.error.code;
    else delete this.root.dataset.error;
    const summary = this.summary(watching);
    this.badge.textContent = watching ? BADGE[summary] : "";
    this.badge.dataset.state = summary;
    document.body.dataset.state = summary;
    const text = this.overlayText(watching);
    this.overlay.textContent = text;
    this.overlay.hidden = text === "";
    // Stale numbers under a "waiting" message only confuse.
    this.statsBox.hidden = text !== "";
    this.overlay.classList.toggle("error", Boolean(this.error));
    const lost = !watching
      ? undefined
      : summary === "reconnecting"
        ? "Lost the server: control resumes when it is back"
        : summary === "offline"
          ? "The device is offline: control resumes when it is back"
          : undefined;
    // Only changes are news (and none is sent while the page is still being built).
    if (lost !== this.lost) this.events.lost((this.lost = lost));
  }

  /** One word for body[data-state]: idle | connecting | connected | offline | reconnecting | error. */
  private summary(watching: boolean): string {
    if (!watching) return "idle";
    if (this.signaling === "reconnecting" || this.signaling === "closed") return "reconnecting";
    if (this.error) return "error";
    if (this.device === "offline") return "offline";
    return this.connection === "connected" ? "connected" : "connecting";
  }

  private overlayText(watching: boolean): string {
    if (!watching) return "Pick a device to watch.";
    if (this.signaling === "reconnecting") return "Lost the server, reconnecting…";
    if (this.signaling === "closed") return "Disconnected from the server. Reload to try again.";
    // The code stays on #player[data-error]; people get the sentence.
    if (this.error) return this.error.message;
    if (this.device === "offline") return `Waiting for ${this.name}… The picture starts by itself when it comes online.`;
    switch (this.connection) {
      case "none":
      case "new":
        return "Waiting for the server…";
      case "connecting":
        return "Connecting…";
      case "disconnected":
        return "Connection interrupted, reconnecting…";
      case "failed":
        return "Connection failed, retrying…";
      default:
        return "";
    }
  }
}

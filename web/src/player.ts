import type { ErrorMessage } from "../../server/protocol/messages.js";
import { byId, el } from "./dom.js";
import { Picture } from "./picture.js";
import { statsRows, type StatsSample } from "./stats.js";
import type { SignalingState } from "./signaling.js";
import type { DeviceState } from "./watch.js";

/** How the picture arrives. */
export type Transport = StatsSample["transport"];

/**
 * The player panel: one persistent <video> (WebRTC) and a <canvas> (the
 * WebSocket fallback), one shown at a time, an overlay for waiting/offline/
 * error, a stats overlay, and the unmute button. State is mirrored on
 * #player as data attributes (see viewer.ts for the list tests rely on).
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
  private connection: RTCPeerConnectionState | "none" = "none";
  private device: DeviceState = "unknown";
  private error: Pick<ErrorMessage, "code" | "message"> | null = null;
  private signaling: SignalingState = "connecting";

  constructor() {
    this.unmute.addEventListener("click", () => {
      this.video.muted = !this.video.muted;
      if (!this.video.muted) void this.video.play().catch(() => undefined);
      this.renderMute();
    });
    this.video.addEventListener("volumechange", () => this.renderMute());
    this.renderMute();
    this.render();
  }

  /** Shows the player for a device, or the empty state for none. */
  show(deviceId: string | undefined, name?: string): void {
    this.root.hidden = false;
    this.root.dataset.deviceId = deviceId ?? "";
    this.title.textContent = deviceId ? (name ?? deviceId) : "No device selected";
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
    if (this.root.dataset.deviceId) this.title.textContent = name;
  }

  /** Shows the element of `transport` and names it on #player[data-transport]. */
  setTransport(transport: Transport): void {
    this.root.dataset.transport = transport;
    this.picture.showCanvas(transport !== "webrtc");
    if (transport !== "webrtc") this.video.srcObject = null;
  }

  attach(stream: MediaStream): void {
    this.video.srcObject = stream;
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
    if (!sample) {
      this.statsBox.replaceChildren();
      return;
    }
    const rows = statsRows(sample).flatMap(([k, v]) => [el("dt", "", k), el("dd", "", v)]);
    this.statsBox.replaceChildren(...rows);
  }

  private renderMute(): void {
    this.unmute.textContent = this.video.muted ? "Unmute" : "Mute";
    this.unmute.setAttribute("aria-pressed", String(!this.video.muted));
  }

  private render(): void {
    const watching = Boolean(this.root.dataset.deviceId);
    this.root.dataset.connectionState = this.connection;
    this.root.dataset.deviceState = this.device;
    if (this.error) this.root.dataset.error = this.error.code;
    else delete this.root.dataset.error;
    this.badge.textContent = watching && this.connection !== "none" ? this.connection : "";
    this.badge.dataset.state = this.connection;
    document.body.dataset.state = this.summary(watching);
    const text = this.overlayText(watching);
    this.overlay.textContent = text;
    this.overlay.hidden = text === "";
    // Stale numbers under a "waiting" message only confuse.
    this.statsBox.hidden = text !== "";
    this.overlay.classList.toggle("error", Boolean(this.error));
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
    if (this.error) return `${this.error.message} (${this.error.code})`;
    if (this.device === "offline") return "Device offline, waiting…";
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

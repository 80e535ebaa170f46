import WebSocket from "ws";
import { chooseDesktopEncoder, DESKTOP_CAPTURE_DEFAULTS, type EncoderPolicy } from "../../pipelines/desktop.js";
import type { RtpVideoCodec } from "../../pipelines/descriptions.js";
import { clipboardMessages } from "../host/clipboard.js";
import { DesktopAudio } from "../host/desktop-audio.js";
import { DesktopCapture } from "../host/desktop-capture.js";
import { DesktopControl } from "../host/desktop-control.js";
import { IdleRate } from "../host/idle-rate.js";
import { PointerFollower } from "../host/pointer-follower.js";
import { mergeCursor, STICKY_MESSAGES } from "../input/device-input.js";
import { X11Desktop } from "../host/x11-desktop.js";
import type { Logger } from "../log.js";
import { CLOSE_CODES, PROTOCOL_VERSION, type IceServer, type ServerMessage } from "../protocol/messages.js";
import { DevicePeer } from "../rtc/device-peer.js";
import { availableElements } from "../setup/preflight.js";

/** What the agent publishes, and where. */
export interface AgentOptions {
  /** The server's origin (http(s)://host:port) or its signaling URL (ws(s)://host:port/ws). */
  server: string;
  /** The device key (`tk_…`) the server's account issued for this desktop. */
  key: string;
  display: string;
  id: string;
  name: string;
  codec: RtpVideoCodec;
  encoderPolicy: EncoderPolicy;
  fps: number;
  bitrateKbps: number;
  /** Inject the controlling viewer's input into the display. */
  allowInput: boolean;
  /** Resize the display to the controlling viewer's player. */
  allowResize: boolean;
  /** The desktop's sound and the controller's talk-back through PulseAudio. */
  audio: boolean;
  /** The server refused the key (unknown, forbidden, released): the agent has stopped for good. */
  onRefused?: (reason: string) => void;
  log: Logger;
}

/** How long a welcome, an answer, or the connection may take, ms. */
const STEP_TIMEOUT_MS = 15_000;
const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 30_000;
/** Close codes after which trying again with the same key cannot help (a wrong, forbidden or released key). */
const FATAL_CLOSE_CODES: ReadonlySet<number> = new Set([CLOSE_CODES.unauthorized, CLOSE_CODES.forbidden, CLOSE_CODES.keyReleased]);

/** The signaling URL of a server given as an origin or as a ws(s) URL. */
export function signalingUrl(server: string): string {
  const url = new URL(server);
  if (url.protocol === "http:" || url.protocol === "https:") {
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.pathname = "/ws";
  } else if (url.protocol !== "ws:" && url.protocol !== "wss:") throw new Error(`--server must be http(s):// or ws(s)://, got ${url.protocol}`);
  url.search = "";
  url.hash = "";
  return url.toString();
}

/**
 * The desktop agent: the same capture and injection as `--source x11`,
 * published to a remote Tessera as an ordinary device (hello with a device
 * key, a werift peer connection with the screen and an `input` data
 * channel). Reconnects with backoff (1 s doubling to 30 s) whenever the
 * server, the network or the display goes away.
 */
export class DesktopAgent {
  private session: AgentSession | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryMs = FIRST_RETRY_MS;
  private _closed = false;
  private readonly wsUrl: string;
  private readonly encoder;

  constructor(private readonly o: AgentOptions) {
    this.wsUrl = signalingUrl(o.server);
    const found = o.codec === "h264" && o.encoderPolicy === "auto" ? availableElements() : { elements: new Set<string>() };
    this.encoder = chooseDesktopEncoder(o.codec, o.encoderPolicy, "elements" in found ? found.elements : new Set());
  }

  start(): void {
    this.connect();
  }

  close(): void {
    if (this._closed) return;
    this._closed = true;
    clearTimeout(this.retryTimer);
    this.session?.close("agent stopping");
  }

  private connect(): void {
    if (this._closed) return;
    const session = new AgentSession(this.o, this.wsUrl, this.encoder, {
      connected: () => {
        this.retryMs = FIRST_RETRY_MS;
        this.o.log.info("publishing", { server: this.wsUrl, device: this.o.id, display: this.o.display, encoder: this.encoder });
      },
      ended: (reason, fatal) => {
        if (this.session !== session) return;
        this.session = undefined;
        if (this._closed) return;
        if (fatal) {
          this.o.log.error("the server refused this agent; not retrying", { reason });
          this._closed = true;
          this.o.onRefused?.(reason);
          return;
        }
        this.o.log.warn("disconnected; retrying", { reason, inMs: this.retryMs });
        this.retryTimer = setTimeout(() => this.connect(), this.retryMs);
        this.retryMs = Math.min(MAX_RETRY_MS, this.retryMs * 2);
      },
    });
    this.session = session;
    session.start();
  }
}

interface SessionEvents {
  connected(): void;
  ended(reason: string, fatal: boolean): void;
}

/** One connection to the server: socket, peer connection, capture, X connection. Ends once, wholly. */
class AgentSession {
  private ws: WebSocket | undefined;
  private peer: DevicePeer | undefined;
  private capture: DesktopCapture | undefined;
  private control: DesktopControl | undefined;
  private pointer: PointerFollower | undefined;
  private audio: DesktopAudio | undefined;
  private idle: IdleRate | undefined;
  private desktop: X11Desktop | undefined;
  private stepTimer: NodeJS.Timeout | undefined;
  private ended = false;
  /** The latest message of each sticky type, sent again when the channel (re)opens. */
  private readonly sticky = new Map<string, string>();

  constructor(
    private readonly o: AgentOptions,
    private readonly wsUrl: string,
    private readonly encoder: ReturnType<typeof chooseDesktopEncoder>,
    private readonly events: SessionEvents,
  ) {}

  start(): void {
    this.step("the server's welcome");
    const ws = new WebSocket(this.wsUrl, { handshakeTimeout: STEP_TIMEOUT_MS });
    this.ws = ws;
    ws.on("open", () =>
      ws.send(
        JSON.stringify({
          type: "hello",
          role: "device",
          protocol: PROTOCOL_VERSION,
          key: this.o.key,
          device: { id: this.o.id, name: this.o.name, kind: "screen" },
        }),
      ),
    );
    ws.on("message", (data, isBinary) => {
      if (isBinary) return;
      let m: ServerMessage;
      try {
        m = JSON.parse((data as Buffer).toString("utf8")) as ServerMessage;
      } catch {
        return this.close("the server sent something that is not JSON");
      }
      this.onMessage(m).catch((err: unknown) => this.close(`negotiation failed: ${(err as Error).message}`));
    });
    ws.on("close", (code, reason) => this.close(`socket closed (${code} ${reason.toString()})`, FATAL_CLOSE_CODES.has(code)));
    ws.on("error", (err) => this.close(`socket error: ${err.message}`));
  }

  private async onMessage(m: ServerMessage): Promise<void> {
    switch (m.type) {
      case "welcome":
        return this.publish(m.iceServers);
      case "answer":
        this.step("the connection");
        await this.peer?.answer(m.sdp);
        return;
      case "candidate":
        if (m.candidate) await this.peer?.addCandidate(m.candidate);
        return;
      case "error":
        this.o.log.warn("the server refused a message", { code: m.code, message: m.message });
        return;
      default:
        return;
    }
  }

  /** After the welcome: the display, the capture, the peer connection and the offer. */
  private async publish(iceServers: IceServer[]): Promise<void> {
    this.step("the display and the server's answer");
    const desktop = await X11Desktop.connect(this.o.display, this.o.log);
    if (this.ended) return desktop.close();
    this.desktop = desktop;
    desktop.on("closed", (reason) => this.close(`the display went away: ${reason}`));
    desktop.on("cursor", (s) => this.toViewers({ type: "cursor", png: s.png, hotspotX: s.hotspotX, hotspotY: s.hotspotY, width: s.width, height: s.height }));
    desktop.on("clipboard", (content) => clipboardMessages(content).forEach((m) => this.toViewers(m)));

    const audio = this.o.audio
      ? new DesktopAudio({
          onRtp: (buf) => this.peer?.writeAudio(buf),
          onError: (message) => this.o.log.warn("desktop audio stopped; the display goes on without sound", { message }),
        })
      : undefined;
    this.audio = audio;
    const control = new DesktopControl(
      desktop,
      { input: this.o.allowInput, resize: this.o.allowResize },
      this.o.log,
      (request) => this.capture?.adjust(request),
      (message) => this.toViewers(message),
    );
    this.control = control;
    const peer = new DevicePeer(
      iceServers,
      { codec: this.o.codec, audio: audio !== undefined },
      {
        onKeyframeRequest: () => {
          // A keyframe is wanted now, not at the idle rate's next frame.
          this.idle?.wake();
          this.capture?.requestKeyframe();
        },
        onInput: (text) => control.line(text),
        onInputOpen: () => {
          for (const text of this.sticky.values()) peer.sendInput(text);
        },
        // The controller's talk-back, played on the desktop.
        onTalk: (seq, ts, marker, payload) => audio?.playPacket(seq, ts, marker, payload),
        onConnectionState: (state) => {
          if (state === "connected") {
            clearTimeout(this.stepTimer);
            this.events.connected();
          } else if (state === "failed" || state === "closed") this.close(`peer connection ${state}`);
        },
      },
    );
    this.peer = peer;
    audio?.start();
    if (desktop.tracksDamage) {
      const idle = new IdleRate((on) => this.capture?.idle(on));
      this.idle = idle;
      desktop.on("damaged", () => idle.wake());
    }
    this.startCapture(desktop);
    desktop.on("resized", () => this.startCapture(desktop));
    this.pointer = new PointerFollower(
      desktop,
      (x, y) => this.toViewers({ type: "cursor", x, y }),
      () => this.peer?.inputOpen ?? false,
    );
    const sdp = await peer.offer();
    this.ws?.send(JSON.stringify({ type: "offer", sdp }));
  }

  /**
   * Captures the display at its size now into the peer's video. A capture already
   * running (the display was resized) is replaced by one that continues its
   * RTP sequence numbers and timestamps, so the server sees one stream.
   */
  private startCapture(desktop: X11Desktop): void {
    const old = this.capture;
    const capture = new DesktopCapture(
      {
        ...DESKTOP_CAPTURE_DEFAULTS,
        display: this.o.display,
        encoder: this.encoder,
        fps: old?.fps ?? this.o.fps,
        bitrateKbps: old?.bitrateKbps ?? this.o.bitrateKbps,
        ...old?.continuation(),
      },
      {
        onRtp: (buf) => {
          if (this.capture === capture) this.peer?.writeVideo(buf);
        },
        onPicture: () => {},
        onError: (message) => {
          if (this.capture === capture) this.close(`capture stopped: ${message}`);
        },
      },
    );
    this.capture = capture;
    old?.close();
    capture.start();
    this.idle?.wake();
    this.toViewers({ type: "resolution", ...desktop.size, resizable: this.o.allowResize });
  }

  private toViewers(message: { type: string; [field: string]: unknown }): void {
    const text = JSON.stringify(message);
    if (message.type === "cursor") this.sticky.set("cursor", mergeCursor(this.sticky.get("cursor"), message));
    else if (STICKY_MESSAGES.has(message.type)) this.sticky.set(message.type, text);
    this.peer?.sendInput(text);
  }

  /** Fails the session when the next step does not come in time. */
  private step(what: string): void {
    clearTimeout(this.stepTimer);
    this.stepTimer = setTimeout(() => this.close(`no ${what} within ${STEP_TIMEOUT_MS / 1000} s`), STEP_TIMEOUT_MS);
  }

  close(reason: string, fatal = false): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.stepTimer);
    this.capture?.close();
    this.control?.close();
    this.pointer?.close();
    this.idle?.close();
    this.audio?.close();
    if (this.desktop) {
      this.desktop.removeAllListeners();
      this.desktop.close();
    }
    this.peer?.close();
    this.ws?.removeAllListeners("close");
    this.ws?.on("error", () => {});
    this.ws?.close();
    this.events.ended(reason, fatal);
  }
}

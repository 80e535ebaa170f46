import { MediaStreamTrack, RTCPeerConnection, RTCRtpCodecParameters, type RTCDataChannel } from "werift";
import WebSocket from "ws";
import { chooseDesktopEncoder, DESKTOP_CAPTURE_DEFAULTS, type EncoderPolicy } from "../../pipelines/desktop.js";
import type { RtpVideoCodec } from "../../pipelines/descriptions.js";
import { DesktopAudio } from "../host/desktop-audio.js";
import { DesktopCapture } from "../host/desktop-capture.js";
import { DesktopControl } from "../host/desktop-control.js";
import { IdleRate } from "../host/idle-rate.js";
import { PointerFollower } from "../host/pointer-follower.js";
import { mergeCursor } from "../input/device-input.js";
import { X11Desktop } from "../host/x11-desktop.js";
import type { Logger } from "../log.js";
import { CLOSE_CODES, PROTOCOL_VERSION, type IceServer, type ServerMessage } from "../protocol/messages.js";
import { peerConfig } from "../rtc/peer-config.js";
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

const FEEDBACK = [{ type: "nack" }, { type: "nack", parameter: "pli" }, { type: "ccm", parameter: "fir" }];

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
  private pc: RTCPeerConnection | undefined;
  private capture: DesktopCapture | undefined;
  private control: DesktopControl | undefined;
  private pointer: PointerFollower | undefined;
  private audio: DesktopAudio | undefined;
  private idle: IdleRate | undefined;
  private desktop: X11Desktop | undefined;
  private input: RTCDataChannel | undefined;
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
        await this.pc?.setRemoteDescription({ type: "answer", sdp: m.sdp });
        return;
      case "candidate":
        if (m.candidate) await this.pc?.addIceCandidate(m.candidate);
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
    desktop.on("clipboard", (text) => this.toViewers({ type: "clipboard", text }));

    const codec =
      this.o.codec === "vp8"
        ? new RTCRtpCodecParameters({ mimeType: "video/VP8", clockRate: 90000, rtcpFeedback: FEEDBACK })
        : new RTCRtpCodecParameters({
            mimeType: "video/H264",
            clockRate: 90000,
            rtcpFeedback: FEEDBACK,
            parameters: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
          });
    const opus = this.o.audio ? [new RTCRtpCodecParameters({ mimeType: "audio/opus", clockRate: 48000, channels: 2 })] : [];
    const pc = new RTCPeerConnection(peerConfig({ iceHosts: [], iceServers }, { video: [codec], audio: opus }));
    this.pc = pc;
    const track = new MediaStreamTrack({ kind: "video" });
    const transceiver = pc.addTransceiver(track, { direction: "sendonly" });
    if (this.o.audio) this.startSound(pc);
    this.startCapture(desktop, track);
    desktop.on("resized", () => this.startCapture(desktop, track));
    if (desktop.tracksDamage) {
      const idle = new IdleRate((on) => this.capture?.idle(on));
      this.idle = idle;
      desktop.on("damaged", () => idle.wake());
    }
    transceiver.sender.onPictureLossIndication.subscribe(() => {
      this.idle?.wake();
      this.capture?.requestKeyframe();
    });
    const control = new DesktopControl(desktop, { input: this.o.allowInput, resize: this.o.allowResize }, this.o.log, (request) =>
      this.capture?.adjust(request),
    );
    this.control = control;
    const input = pc.createDataChannel("input");
    this.input = input;
    input.stateChanged.subscribe((state) => {
      if (state === "open") for (const text of this.sticky.values()) input.send(text);
    });
    input.onMessage.subscribe((data) => control.line(data.toString()));
    pc.connectionStateChange.subscribe((state) => {
      if (state === "connected") {
        clearTimeout(this.stepTimer);
        this.events.connected();
      } else if (state === "failed" || state === "closed") this.close(`peer connection ${state}`);
    });
    await pc.setLocalDescription(await pc.createOffer());
    this.ws?.send(JSON.stringify({ type: "offer", sdp: pc.localDescription!.sdp }));
  }

  /**
   * The desktop's sound on a send-only audio section, and a receive-only one
   * for the controller's talk-back (the server routes the holder's
   * microphone to a device that offers one), played on the desktop.
   */
  private startSound(pc: RTCPeerConnection): void {
    const sound = new MediaStreamTrack({ kind: "audio" });
    pc.addTransceiver(sound, { direction: "sendonly" });
    const talk = pc.addTransceiver("audio", { direction: "recvonly" });
    const audio = new DesktopAudio({
      onRtp: (buf) => sound.writeRtp(buf),
      onError: (message) => this.o.log.warn("desktop audio stopped; the display goes on without sound", { message }),
    });
    this.audio = audio;
    talk.onTrack.subscribe((track) =>
      track.onReceiveRtp.subscribe((rtp) => audio.playPacket(rtp.header.sequenceNumber, rtp.header.timestamp, rtp.header.marker, rtp.payload)),
    );
    audio.start();
  }

  /**
   * Captures the display at its size now into `track`. A capture already
   * running (the display was resized) is replaced by one that continues its
   * RTP sequence numbers and timestamps, so the server sees one stream.
   */
  private startCapture(desktop: X11Desktop, track: MediaStreamTrack): void {
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
          if (this.capture === capture) track.writeRtp(buf);
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
    else if (message.type !== "clipboard") this.sticky.set(message.type, text);
    if (this.input?.readyState === "open") this.input.send(text);
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
    this.pc?.close().catch(() => undefined);
    this.ws?.removeAllListeners("close");
    this.ws?.on("error", () => {});
    this.ws?.close();
    this.events.ended(reason, fatal);
  }
}

import type { ClientMessage, ErrorMessage, ServerMessage } from "../../server/protocol/messages.js";
import { SIMULCAST_LAYERS } from "../../server/protocol/simulcast.js";
import type { RtcConfigSource } from "./rtc-config.js";
import { candidateJson, supervise, trickle } from "./peer-connection.js";

/** What a Publisher tells the device page. */
export interface PublisherEvents {
  connectionState(state: RTCPeerConnectionState | "none"): void;
  error(err: Pick<ErrorMessage, "code" | "message">): void;
  /** The current connection's `input` data channel (created with it), or undefined when it is gone. */
  input(channel: RTCDataChannel | undefined): void;
  /** The controlling viewer's talk-back audio track of the current connection, or undefined when it is gone. */
  talkback(track: MediaStreamTrack | undefined): void;
}

/** Messages the server sends a device. */
export type PublisherMessage = Extract<ServerMessage, { type: "answer" | "candidate" | "error" }>;

/** The video codecs a device page can be asked to send first; the server takes each. */
export type PublishCodec = "vp8" | "vp9" | "h264";
/** Video codecs first in our offer, by default: VP8 (every browser has it), then H.264, then VP9. */
const PREFERRED_VIDEO: readonly PublishCodec[] = ["vp8", "h264", "vp9"];
/** How long a connection may stay "disconnected" before we offer afresh, ms. */
const DISCONNECTED_GRACE_MS = 4000;
const RESTART_MIN_MS = 500;
const RESTART_MAX_MS = 8000;

/** Capabilities reordered so `first`, then the rest of PREFERRED_VIDEO, lead; everything else (rtx, red, fec…) keeps its place after. */
export function orderCodecs<T extends { mimeType: string }>(codecs: readonly T[], first: PublishCodec = "vp8"): T[] {
  const order = [first, ...PREFERRED_VIDEO.filter((c) => c !== first)].map((c) => `video/${c}`);
  const rank = (c: T) => {
    const i = order.indexOf(c.mimeType.toLowerCase());
    return i === -1 ? order.length : i;
  };
  return [...codecs].sort((a, b) => rank(a) - rank(b));
}

/**
 * The simulcast layers a video track is sent as (server/protocol/simulcast.ts).
 * The browser leaves out layers its encoder cannot afford (or a picture too
 * small to split).
 */
export const SIMULCAST_ENCODINGS: RTCRtpEncodingParameters[] = SIMULCAST_LAYERS.map((l) => ({
  rid: l.rid,
  maxBitrate: l.maxBitrate,
  ...(l.scaleDownBy > 1 ? { scaleResolutionDownBy: l.scaleDownBy } : {}),
}));

/**
 * Each layer also in three temporal layers (L1T3: a quarter, half and all
 * of the frames), so the server can halve or quarter a viewer's frame rate
 * without a keyframe. Browsers that do not list L1T3 for the codec sent
 * among their sender capabilities (Firefox), or refuse it, send
 * SIMULCAST_ENCODINGS.
 */
export const TEMPORAL_ENCODINGS: RTCRtpEncodingParameters[] = SIMULCAST_ENCODINGS.map((e) => ({ ...e, scalabilityMode: "L1T3" }));

/**
 * Whether this browser says it can send `wanted` (else VP8, which it puts
 * first instead) in L1T3 (RTCRtpSender.getCapabilities' scalabilityModes).
 * Never for H.264: the server reads temporal layers of VP8 and VP9 only.
 */
function sendsTemporalLayers(wanted: PublishCodec): boolean {
  const codecs = RTCRtpSender.getCapabilities?.("video")?.codecs ?? [];
  const named = (codec: PublishCodec) => codecs.filter((c) => c.mimeType.toLowerCase() === `video/${codec}`);
  const sent = named(wanted).length > 0 ? wanted : "vp8";
  return sent !== "h264" && named(sent).some((c) => (c as { scalabilityModes?: string[] }).scalabilityModes?.includes("L1T3") === true);
}

/**
 * Publishes one MediaStream to the server: each `start()` builds a fresh
 * sendonly RTCPeerConnection, with a receive-only audio section for the
 * controlling viewer's voice and the `input` data channel, and sends its
 * offer (the server replaces the device's previous connection). A failed or long-disconnected connection is
 * restarted with backoff; a new socket calls `start()` again.
 */
export class Publisher {
  /** Offers sent so far (tests read this to see reconnects). */
  offers = 0;
  private _pc: RTCPeerConnection | undefined;
  private restarts = 0;
  private restartTimer: number | undefined;
  private _closed = false;

  constructor(
    private readonly stream: MediaStream,
    private readonly send: (msg: ClientMessage) => boolean,
    private readonly events: PublisherEvents,
    private readonly ice: RtcConfigSource,
    /** Send video as simulcast layers (SIMULCAST_ENCODINGS) when the browser can. */
    private readonly simulcast = true,
    /** The video codec to send, when the browser has it (else its first of the rest). */
    private readonly codec: PublishCodec = "vp8",
  ) {}

  get pc(): RTCPeerConnection | undefined {
    return this._pc;
  }

  /** (Re)creates the connection and sends an offer; call after every welcome. */
  start(): void {
    if (this._closed) return;
    clearTimeout(this.restartTimer);
    this.offer().catch((err: unknown) => {
      this.events.error({ code: "internal", message: `could not create an offer: ${err instanceof Error ? err.message : String(err)}` });
      this.restartSoon();
    });
  }

  /** The socket dropped: the server has already closed our connection. */
  suspend(): void {
    clearTimeout(this.restartTimer);
    this.dropPc();
  }

  handle(msg: PublisherMessage): void {
    const pc = this._pc;
    if (this._closed || !pc) return;
    switch (msg.type) {
      case "answer":
        pc.setRemoteDescription({ type: "answer", sdp: msg.sdp }).catch((err: unknown) => {
          this.events.error({ code: "bad_request", message: `server answer rejected: ${err instanceof Error ? err.message : String(err)}` });
          this.restartSoon();
        });
        return;
      case "candidate":
        if (msg.candidate) pc.addIceCandidate(msg.candidate).catch((err: unknown) => console.warn("tessera: candidate", err));
        return;
      case "error":
        this.events.error(msg);
        if (msg.ref === "offer") this.restartSoon();
        return;
    }
  }

  /** Stops publishing (the caller stops the tracks); idempotent. */
  close(): void {
    if (this._closed) return;
    this._closed = true;
    clearTimeout(this.restartTimer);
    this.dropPc();
  }

  /** A sendonly section for `track`: video in simulcast layers where the browser takes them, else one encoding. */
  private addTransceiver(pc: RTCPeerConnection, track: MediaStreamTrack): RTCRtpTransceiver {
    const init: RTCRtpTransceiverInit = { direction: "sendonly", streams: [this.stream] };
    if (track.kind === "video" && this.simulcast) {
      for (const sendEncodings of sendsTemporalLayers(this.codec) ? [TEMPORAL_ENCODINGS, SIMULCAST_ENCODINGS] : [SIMULCAST_ENCODINGS]) {
        try {
          return pc.addTransceiver(track, { ...init, sendEncodings });
        } catch (err) {
          console.info(`tessera: this browser does not send ${sendEncodings === TEMPORAL_ENCODINGS ? "temporal layers" : "simulcast; one layer"}`, err);
        }
      }
    }
    return pc.addTransceiver(track, init);
  }

  private async offer(): Promise<void> {
    const config = await this.ice.get();
    if (this._closed) return;
    this.dropPc();
    const pc = new RTCPeerConnection(config);
    this._pc = pc;
    for (const track of this.stream.getTracks()) {
      const t = this.addTransceiver(pc, track);
      if (track.kind === "video") preferCodecs(t, this.codec);
    }
    // Both go into the first offer, so the server can route talk-back and input without renegotiating.
    const talk = pc.addTransceiver("audio", { direction: "recvonly" });
    const input = pc.createDataChannel("input", { ordered: true });
    this.events.input(input);
    this.events.talkback(talk.receiver.track);
    const isCurrent = () => pc === this._pc;
    const releaseCandidates = trickle(pc, isCurrent, (c) => this.send({ type: "candidate", candidate: candidateJson(c) }));
    supervise(
      pc,
      isCurrent,
      (state) => {
        this.events.connectionState(state);
        if (state === "connected") this.restarts = 0;
      },
      () => this.restartSoon(),
      DISCONNECTED_GRACE_MS,
    );
    await pc.setLocalDescription(await pc.createOffer());
    if (pc !== this._pc || !pc.localDescription) return;
    if (!this.send({ type: "offer", sdp: pc.localDescription.sdp })) return; // the next welcome starts over
    this.offers++;
    this.events.connectionState(pc.connectionState);
    releaseCandidates();
  }

  private restartSoon(): void {
    if (this._closed) return;
    clearTimeout(this.restartTimer);
    const delay = Math.min(RESTART_MAX_MS, RESTART_MIN_MS * 2 ** this.restarts++);
    this.restartTimer = window.setTimeout(() => this.start(), delay);
  }

  private dropPc(): void {
    const pc = this._pc;
    this._pc = undefined;
    if (pc) {
      pc.onconnectionstatechange = null;
      pc.onicecandidate = null;
      pc.close();
      this.events.input(undefined);
      this.events.talkback(undefined);
    }
    this.events.connectionState("none");
  }
}

/** Puts `first`, then VP8, H.264, VP9 first; a browser that refuses the list keeps its default order. */
function preferCodecs(t: RTCRtpTransceiver, first: PublishCodec): void {
  const caps = RTCRtpSender.getCapabilities("video") ?? RTCRtpReceiver.getCapabilities("video");
  if (!caps || typeof t.setCodecPreferences !== "function") return;
  try {
    t.setCodecPreferences(orderCodecs(caps.codecs, first));
  } catch {
    const recv = RTCRtpReceiver.getCapabilities("video");
    try {
      if (recv) t.setCodecPreferences(orderCodecs(recv.codecs, first));
    } catch (err) {
      console.debug("tessera: keeping the default codec order", err);
    }
  }
}

import type { ClientMessage, ErrorMessage, ServerMessage } from "../../server/protocol/messages.js";
import type { RtcConfigSource } from "./rtc-config.js";
import { candidateJson, supervise, trickle } from "./peer-connection.js";
import { offeredVideoCodecs, talkMid, videoRefused } from "./sdp.js";
import { RepairBuffer } from "./repair-buffer.js";
import { StatsSampler, type StatsSample } from "./stats.js";

/** Where the watched device is, as far as this viewer knows. */
export type DeviceState = "unknown" | "online" | "offline";

/** Milestones of the current watch, performance.now() ms; tests read them. */
export interface WatchTimeline {
  watchSentAt: number | null;
  offerAt: number | null;
  answerSentAt: number | null;
  /** When the current peer connection first reached "connected". */
  connectedAt: number | null;
  /** Offers received since the watch began (2+ means the server renegotiated). */
  offers: number;
}

/** What a Watch tells the view. */
export interface WatchEvents {
  /** A new peer connection's media; attach it to the <video>. */
  stream(stream: MediaStream): void;
  connectionState(state: RTCPeerConnectionState | "none"): void;
  deviceState(state: DeviceState): void;
  stats(sample: StatsSample): void;
  error(err: Pick<ErrorMessage, "code" | "message"> | null): void;
  /** The server's `input` data channel of the current connection and this page's `pointer` one, or undefined when they are gone. */
  input(channel: RTCDataChannel | undefined, pointer?: RTCDataChannel): void;
  /** Where this viewer's microphone goes (the talk-back section), or undefined when it is gone. */
  talkSender(sender: RTCRtpSender | undefined): void;
  /** A milestone: `watch` sent, an offer received, the answer sent (the automatic fallback times them). */
  progress?(step: "watch" | "offer" | "answer"): void;
  /** This browser can decode none of the video codecs the server offers (`codecs`); no answer was sent. */
  unplayable(codecs: string[]): void;
}

let receivableCache: { codecs: Set<string> | undefined } | undefined;

/**
 * The video codecs this browser receives over WebRTC (lower-case names), or undefined when it does not say.
 * Asked of the browser once (it takes Chromium several milliseconds, on the way to `watch` and to the answer).
 */
function receivableVideoCodecs(): Set<string> | undefined {
  if (!receivableCache) {
    const caps = typeof RTCRtpReceiver.getCapabilities === "function" ? RTCRtpReceiver.getCapabilities("video") : null;
    receivableCache = { codecs: caps ? new Set(caps.codecs.map((c) => c.mimeType.split("/")[1]?.toLowerCase() ?? "")) : undefined };
  }
  return receivableCache.codecs;
}

/** Entries of a receiver's capabilities that are not codecs of their own. */
const NOT_CODECS = new Set(["rtx", "red", "ulpfec", "flexfec-03"]);

/** Messages addressed to one watched device. */
export type WatchMessage = Extract<ServerMessage, { type: "offer" | "candidate" | "device_offline" | "watching" | "unwatched" | "error" }>;

/** How long a peer connection may stay "disconnected" before we ask for a new one, ms. */
const DISCONNECTED_GRACE_MS = 4000;
/** Delay before re-watching after a failed connection, doubling per failure up to the max, ms. */
const REWATCH_MIN_MS = 1000;
const REWATCH_MAX_MS = 10_000;

/**
 * Watching one device: sends `watch`, answers each server offer with a fresh
 * RTCPeerConnection (a later offer replaces the earlier connection), trickles
 * candidates and keeps the view informed. Survives the device going offline:
 * the server resumes media on the same connection when it returns.
 */
export class Watch {
  readonly timeline: WatchTimeline = { watchSentAt: null, offerAt: null, answerSentAt: null, connectedAt: null, offers: 0 };
  private _pc: RTCPeerConnection | undefined;
  private sampler: StatsSampler | undefined;
  private _stats: StatsSample | undefined;
  private _lastError: ErrorMessage["code"] | undefined;
  private chain: Promise<void> = Promise.resolve();
  private retryTimer: number | undefined;
  private failures = 0;
  private _closed = false;

  constructor(
    readonly deviceId: string,
    private readonly send: (msg: ClientMessage) => boolean,
    private readonly events: WatchEvents,
    private readonly ice: RtcConfigSource,
  ) {}

  get pc(): RTCPeerConnection | undefined {
    return this._pc;
  }

  get stats(): StatsSample | undefined {
    return this._stats;
  }

  /** The code of the last error the server sent for this watch, until the next offer. */
  get lastError(): ErrorMessage["code"] | undefined {
    return this._lastError;
  }

  /** Sends `watch`; called after every welcome, since a new socket is a new server session. */
  start(): void {
    if (this._closed) return;
    clearTimeout(this.retryTimer);
    // What this browser decodes, so the server can offer a device's video as VP8 when it cannot decode the device's own codec.
    const receivable = receivableVideoCodecs();
    const codecs = receivable && [...receivable].filter((c) => !NOT_CODECS.has(c)).slice(0, 16);
    if (this.send({ type: "watch", deviceId: this.deviceId, ...(codecs?.length ? { codecs } : {}) })) {
      this.timeline.watchSentAt = performance.now();
      this.events.progress?.("watch");
    }
  }

  /** Handles a server message for this device. */
  handle(msg: WatchMessage): void {
    if (this._closed) return;
    switch (msg.type) {
      case "offer":
        this.timeline.offerAt = performance.now();
        this.timeline.offers++;
        this.events.progress?.("offer");
        this.chain = this.chain.then(() => this.answer(msg.sdp, msg.offerId)).catch((err: unknown) => this.localError(err));
        return;
      case "candidate": {
        const pc = this._pc;
        if (!pc || !msg.candidate) return;
        this.chain = this.chain.then(() => pc.addIceCandidate(msg.candidate ?? undefined)).catch((err: unknown) => this.localError(err));
        return;
      }
      case "device_offline":
        this.events.deviceState("offline");
        return;
      case "watching":
        this.events.deviceState(msg.waiting ? "offline" : "online");
        return;
      case "unwatched":
        // The server ended this watch (our connection failed on its side): watch again.
        this.dropPc();
        this.rewatchSoon();
        return;
      case "error":
        this._lastError = msg.code;
        this.events.error(msg);
        return;
    }
  }

  /** Ends the watch: optionally tells the server, and closes the peer connection; idempotent. */
  close(unwatch: boolean): void {
    if (this._closed) return;
    this._closed = true;
    clearTimeout(this.retryTimer);
    if (unwatch) this.send({ type: "unwatch", deviceId: this.deviceId });
    this.dropPc();
  }

  private async answer(sdp: string, offerId: number): Promise<void> {
    if (this._closed) return;
    const offered = offeredVideoCodecs(sdp);
    const receivable = receivableVideoCodecs();
    if (offered.length > 0 && receivable && !offered.some((c) => receivable.has(c))) {
      this.dropPc();
      this.events.unplayable(offered);
      return;
    }
    const config = await this.ice.get();
    if (this._closed) return;
    this.dropPc();
    const pc = new RTCPeerConnection(config);
    this._pc = pc;
    this.timeline.connectedAt = null;
    this._lastError = undefined;
    this.events.error(null);
    this.events.deviceState("online");
    const stream = new MediaStream();
    pc.ontrack = (ev) => stream.addTrack(ev.track);
    pc.ondatachannel = (ev) => {
      if (pc !== this._pc || ev.channel.label !== "input") return;
      // Pointer moves get their own lane: unordered, never resent (web/src/pointer-lane.ts).
      this.events.input(ev.channel, pc.createDataChannel("pointer", { ordered: false, maxRetransmits: 0 }));
    };
    const isCurrent = () => pc === this._pc;
    const releaseCandidates = trickle(pc, isCurrent, (c) => this.send({ type: "candidate", deviceId: this.deviceId, candidate: candidateJson(c) }));
    supervise(
      pc,
      isCurrent,
      (state) => {
        this.events.connectionState(state);
        if (state === "connected") {
          this.failures = 0;
          this.timeline.connectedAt ??= performance.now();
        }
      },
      () => this.rewatchSoon(),
      DISCONNECTED_GRACE_MS,
    );
    await pc.setRemoteDescription({ type: "offer", sdp });
    // The server receives our microphone on its recvonly audio section. Answering
    // it sendonly now (with no track yet) lets push-to-talk start later with
    // replaceTrack, without renegotiating.
    const mid = talkMid(sdp);
    const talk = mid === undefined ? undefined : pc.getTransceivers().find((t) => t.mid === mid);
    if (talk) talk.direction = "sendonly";
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    if (pc !== this._pc || !pc.localDescription) return;
    // A browser whose capabilities did not tell refuses the video section instead.
    if (offered.length > 0 && videoRefused(pc.localDescription.sdp)) {
      this.dropPc();
      this.events.unplayable(offered);
      return;
    }
    this.events.stream(stream);
    this.events.talkSender(talk?.sender);
    this.events.connectionState(pc.connectionState);
    this.send({ type: "answer", deviceId: this.deviceId, sdp: pc.localDescription.sdp, offerId });
    this.timeline.answerSentAt = performance.now();
    this.events.progress?.("answer");
    releaseCandidates();
    // On a lossy link the jitter buffer waits for resends (repair-buffer.ts).
    const repair = new RepairBuffer();
    let applied = false;
    this.sampler = new StatsSampler(pc, (s) => {
      if (pc !== this._pc) return;
      const target = repair.update(s);
      if (target !== undefined) applied = setVideoJitterTarget(pc, target) && target !== null;
      if (applied && repair.targetMs !== null) s.repairTargetMs = repair.targetMs;
      this._stats = s;
      this.events.stats(s);
    });
  }

  /**
   * A failed (or long-disconnected) connection is replaced by watching again;
   * so is one the server ended (`unwatched`).
   */
  private rewatchSoon(): void {
    clearTimeout(this.retryTimer);
    const delay = Math.min(REWATCH_MAX_MS, REWATCH_MIN_MS * 2 ** this.failures++);
    this.retryTimer = window.setTimeout(() => this.start(), delay);
  }

  private localError(err: unknown): void {
    console.warn("tessera: watch failed", err);
    this.events.error({ code: "internal", message: `browser rejected the server's offer: ${err instanceof Error ? err.message : String(err)}` });
  }

  private dropPc(): void {
    this.sampler?.close();
    this.sampler = undefined;
    this._stats = undefined;
    const pc = this._pc;
    this._pc = undefined;
    if (pc) {
      pc.onconnectionstatechange = null;
      pc.onicecandidate = null;
      pc.ontrack = null;
      pc.ondatachannel = null;
      pc.close();
      this.events.input(undefined);
      this.events.talkSender(undefined);
    }
    this.events.connectionState("none");
  }
}

/** Sets the jitter buffer target (ms, or null for the browser's own) on the connection's video receivers, where the browser has it; true when one took it. */
function setVideoJitterTarget(pc: RTCPeerConnection, targetMs: number | null): boolean {
  let set = false;
  for (const receiver of pc.getReceivers()) {
    if (receiver.track.kind !== "video" || !("jitterBufferTarget" in receiver)) continue;
    try {
      receiver.jitterBufferTarget = targetMs;
      set = true;
    } catch (err) {
      console.debug("tessera: jitterBufferTarget refused", err);
    }
  }
  return set;
}

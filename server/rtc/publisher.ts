import { ChannelSender } from "./channel-send.js";
import { routeFeedbackByMedia } from "./feedback-routing.js";
import { AnswererIceRestarts, type LocalIceParameters, type RemoteIceRestart } from "./ice-restart.js";
import {
  GenericNack,
  RTCPeerConnection,
  RtcpTransportLayerFeedback,
  type MediaStreamTrack,
  type RTCDataChannel,
  type RTCRtpReceiver,
  type RTCRtpTransceiver,
} from "werift";
import { badRequest, unsupported } from "../errors.js";
import type { Logger } from "../log.js";
import type { IceCandidate } from "../protocol/messages.js";
import type { RelayObserver } from "../relay/observer.js";
import { DownTrack } from "../relay/down-track.js";
import { UpTrack } from "../relay/up-track.js";
import { Listeners } from "./listeners.js";
import { CandidateBudget, checkRemoteSdp } from "./limits.js";
import { isMdnsCandidate, withoutMdnsCandidates } from "./mdns.js";
import { fixSctpReassembly } from "./sctp-reassembly.js";
import { localSdpForClients, offeredCodecOrder } from "./sdp.js";
import { openSrtpNatively } from "./srtp-receive.js";
import { FastIngest, nacksTaken } from "./fast-ingest.js";
import { enlargeReceiveBuffers } from "./receive-buffer.js";
import { senderSink } from "./sender-sink.js";
import { errorText } from "./errors.js";
import { rembPacket } from "./remb.js";
import { peerConfig, publishCodecs, toTrackCodec, type RtcSettings } from "./peer-config.js";
import { peerOpened } from "./census.js";
import { rejected, whileOpen } from "./while-open.js";

/** What a Publisher tells its owner. */
export interface PublisherEvents {
  /** A device track started; the UpTrack is the relay's handle on it. */
  onTrack(track: UpTrack): void;
  /** The peer connection failed or closed. */
  onClosed(reason: string): void;
  /** The device's `input` data channel opened (send) or closed (undefined). */
  onInputChannel(send: ((text: string) => boolean) | undefined): void;
  /** A text message from the device on `input`. */
  onDeviceMessage(text: string): void;
}

let nextTrackId = 0;

/** How often the device's inbound loss is read, ms. */
const LOSS_SAMPLE_MS = 5000;
/** How often a device hears how much video it may send (REMB), ms. */
const REMB_MS = 1000;
/**
 * The video bitrate a device may send, bits/s, told by REMB: room for a
 * 1080p picture, or three simulcast layers. A browser's send-side estimate
 * needs feedback to leave its start value (about 300 kb/s, where its
 * encoder halves the picture and drops the top layer); werift's receiver
 * sends none it acts on, so the server says what it can take, as Janus
 * does, and the browser's loss-based control does the rest.
 */
export const PUBLISH_MAX_BITRATE = 6_000_000;

/**
 * The server side of a device's WebRTC connection: answers the device's
 * offer, receives its tracks and turns each into an UpTrack. werift's
 * receiver terminates RTCP towards the device (receiver reports); the
 * relay's UpTracks find the packets each stream lost (one generator per
 * SSRC, so per simulcast layer) and NACKs go from here, as does a PLI when
 * the relay asks for a keyframe.
 */
export class Publisher {
  private pc: RTCPeerConnection | undefined;
  /** Uncounts the peer connection in the census (rtc/census.ts). */
  private uncount: () => void = () => {};
  private iceRestarts: AnswererIceRestarts | undefined;
  private readonly listeners: Listeners;
  /** The device's RTP past werift's receive chain, SSRC by SSRC once werift has routed their first packets (fast-ingest.ts). */
  private readonly ingest: FastIngest;
  private readonly upTracks = new Map<string, UpTrack>();
  private _closed = false;
  /** Lets go of the native SRTP's hold on the transports (openSrtpNatively). */
  private releaseSrtp: () => void = () => undefined;
  /** Trickled candidates this device may still add. */
  private readonly candidates = new CandidateBudget();
  private _expectedTracks = 0;
  /** The device's receive-only audio (talk-back), when it offered one. */
  private _talkback: DownTrack | undefined;
  private lossTimer: NodeJS.Timeout | undefined;
  /** Cumulative packets lost per SSRC, as last reported to the observer. */
  private readonly lostReported = new Map<number, number>();
  /** The SSRCs of each video section, for REMB. */
  private readonly videoSsrcs = new Map<RTCRtpTransceiver, () => number[]>();
  private rembTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly rtc: RtcSettings,
    private readonly events: PublisherEvents,
    private readonly observer: RelayObserver,
    private readonly log: Logger,
  ) {
    this.listeners = new Listeners(log);
    this.ingest = new FastIngest(log);
  }

  get closed(): boolean {
    return this._closed;
  }

  /** The tracks received so far. */
  get tracks(): UpTrack[] {
    return [...this.upTracks.values()];
  }

  /** Where viewers' talk-back audio goes, when the device offered a receive-only audio section. */
  get talkback(): DownTrack | undefined {
    return this._talkback;
  }

  /** How many media tracks the negotiated session carries. */
  get expectedTracks(): number {
    return this._expectedTracks;
  }

  /** Applies the device's offer and returns the server's answer, with every candidate in it. */
  async answer(offerSdp: string): Promise<string> {
    if (this._closed) throw new Error("publisher is closed");
    if (this.pc) throw new Error("the publisher has answered already");
    checkRemoteSdp(offerSdp, "offer");
    const pc = new RTCPeerConnection(peerConfig(this.rtc, publishCodecs(offeredCodecOrder(offerSdp, "video")), true));
    routeFeedbackByMedia(pc);
    this.pc = pc;
    this.uncount = peerOpened("publisher");
    this.iceRestarts = new AnswererIceRestarts(pc, (sdp) => localSdpForClients(sdp, this.rtc));
    this.listeners.on(pc.onTrack, (track: MediaStreamTrack) => this.trackStarted(pc, track));
    this.listeners.on(pc.onDataChannel, (channel: RTCDataChannel) => this.dataChannel(channel));
    this.listeners.on(pc.connectionStateChange, (state: string) => {
      this.log.debug("publisher connection", { state });
      if (state === "connected") enlargeReceiveBuffers(pc, this.log);
      if (state === "failed" || state === "closed") this.close(`connection ${state}`);
    });
    try {
      await whileOpen(pc, () => pc.setRemoteDescription({ type: "offer", sdp: withoutMdnsCandidates(offerSdp) }));
    } catch (err) {
      throw rejected("offer", err);
    }
    fixSctpReassembly(pc);
    // offerDirection is ours as the device proposed it: "recvonly" where the
    // device sends, "sendonly" where it wants to receive (talk-back audio).
    const media = pc.getTransceivers().filter((t) => t.codecs.length > 0 && (t.offerDirection === "recvonly" || t.offerDirection === "sendrecv"));
    if (media.length === 0) throw unsupported("the offer has no video or audio codec Tessera supports (H.264, VP8, VP9, Opus)");
    for (const t of media) t.setDirection("recvonly");
    const talk = pc.getTransceivers().find((t) => t.kind === "audio" && t.codecs.length > 0 && t.offerDirection === "sendonly");
    if (talk) {
      talk.setDirection("sendonly");
      this._talkback = new DownTrack(toTrackCodec("audio", talk.codecs[0]), senderSink(talk.sender, "audio", this.observer, this.log));
    }
    this._expectedTracks = media.length;
    try {
      await whileOpen(pc, async () => pc.setLocalDescription(await pc.createAnswer()));
    } catch (err) {
      // What werift could not answer is the offer's doing (found by the fuzzer: sections it cannot match).
      throw rejected("offer", err);
    }
    // The device may have left while werift answered: a closed publisher takes nothing over (its caller sees `closed`).
    if (!this._closed) {
      this.releaseSrtp = openSrtpNatively(pc);
      this.ingest.attach(pc);
    }
    const local = pc.localDescription;
    if (!local) throw new Error("no local description");
    return localSdpForClients(local.sdp, this.rtc);
  }

  /** The device's current ICE username fragment, to tell a restart from a trickle. */
  get remoteIceUfrag(): string | undefined {
    return this.iceRestarts?.remoteUfrag;
  }

  /** Restarts ICE with the device's new credentials (a WHIP PATCH); the server's new ones come back. */
  async restartIce(restart: RemoteIceRestart): Promise<LocalIceParameters> {
    if (this._closed || !this.iceRestarts) throw badRequest("no connection to restart");
    this.candidates.take(restart.candidates.length);
    return this.iceRestarts.restart(restart);
  }

  /** Adds a candidate the device trickled. */
  async addCandidate(candidate: IceCandidate | null): Promise<void> {
    if (this._closed || !candidate || candidate.candidate === "") return;
    if (!this.pc) throw badRequest("candidate before offer");
    this.candidates.take();
    if (isMdnsCandidate(candidate.candidate)) return;
    try {
      await this.pc.addIceCandidate(candidate);
    } catch (err) {
      throw rejected("candidate", err);
    }
    this.iceRestarts?.candidateAdded();
  }

  /** Closes the peer and every UpTrack; idempotent. */
  close(reason = "closed"): void {
    if (this._closed) return;
    this._closed = true;
    clearInterval(this.lossTimer);
    clearInterval(this.rembTimer);
    this.listeners.clear();
    this.releaseSrtp();
    this.ingest.clear();
    this._talkback?.close();
    for (const t of this.upTracks.values()) t.close();
    this.upTracks.clear();
    this.pc?.close().catch((err: unknown) => this.log.debug("publisher close", { err: errorText(err) }));
    this.uncount();
    this.events.onClosed(reason);
  }

  private dataChannel(channel: RTCDataChannel): void {
    if (channel.label !== "input") {
      this.log.debug("ignoring data channel", { label: channel.label });
      return;
    }
    const sender = new ChannelSender(channel);
    const send = (text: string) => {
      const sent = sender.send(text);
      if (sent === "stuck") {
        // A device that does not read what its viewers send it (channel-send.ts): the server keeps no more for it.
        this.log.info("device's input channel not read; dropped", { unacked: sender.unacked });
        this.close("input channel not read");
      }
      return sent === "sent";
    };
    if (channel.readyState === "open") this.events.onInputChannel(send);
    this.listeners.on(channel.stateChanged, (state: string) => {
      if (state === "open") this.events.onInputChannel(send);
      if (state === "closed") this.events.onInputChannel(undefined);
    });
    this.listeners.on(channel.onMessage, (data: string | Buffer) => {
      if (typeof data === "string") this.events.onDeviceMessage(data);
    });
  }

  private trackStarted(pc: RTCPeerConnection, track: MediaStreamTrack): void {
    const transceiver = pc.getTransceivers().find((t) => t.receiver.tracks.includes(track));
    if (!transceiver) return;
    // Simulcast: werift tells one track per section; its receiver holds one per rid.
    const layers = transceiver.receiver.tracks.filter((t) => t.rid !== undefined);
    if (transceiver.kind === "video" && layers.length > 1) return this.layersStarted(transceiver, layers);
    let up: UpTrack | undefined;
    this.listeners.on(track.onReceiveRtp, (rtp) => {
      if (!up) {
        up = this.createUpTrack(transceiver, track, rtp.header.payloadType);
        if (!up) return;
      }
      up.push(rtp.header.sequenceNumber, rtp.header.timestamp, rtp.header.marker, rtp.payload);
      this.ingest.learn(rtp.header.ssrc, rtp.header.payloadType, transceiver.receiver, track, up);
    });
  }

  /**
   * A simulcast section: one UpTrack per layer (rid), made together at the
   * first packet of any, told to each other as layers of one picture. The
   * relay publishes the last layer the device listed (by convention its
   * highest; each viewer's layer is then chosen by size and bandwidth).
   */
  private layersStarted(t: RTCRtpTransceiver, tracks: MediaStreamTrack[]): void {
    let ups: UpTrack[] | undefined;
    // werift does not set a rid track's SSRC: each layer's comes with its packets (for its PLIs).
    const ssrcs: (number | undefined)[] = tracks.map(() => undefined);
    tracks.forEach((track, i) => {
      this.listeners.on(track.onReceiveRtp, (rtp) => {
        ssrcs[i] = rtp.header.ssrc;
        if (!ups) {
          const made = tracks.map((tr, j) => this.newUpTrack(t, rtp.header.payloadType, `:${tr.rid}`, () => ssrcs[j]));
          if (made.some((u) => !u)) return;
          ups = made as UpTrack[];
          for (const u of ups) u.setLayers(ups);
          this.log.info("device simulcast", { layers: tracks.map((tr) => tr.rid).join(",") });
          this.events.onTrack(ups[ups.length - 1]);
        }
        ups[i].push(rtp.header.sequenceNumber, rtp.header.timestamp, rtp.header.marker, rtp.payload);
        this.ingest.learn(rtp.header.ssrc, rtp.header.payloadType, t.receiver, track, ups[i]);
      });
    });
  }

  /** From now on the device hears, every REMB_MS, that it may send PUBLISH_MAX_BITRATE on this section's SSRCs. */
  private tellBitrate(t: RTCRtpTransceiver, ssrcs: () => number[]): void {
    this.videoSsrcs.set(t, ssrcs);
    if (this.rembTimer) return;
    const send = () => {
      for (const [tr, of] of this.videoSsrcs) {
        const list = of();
        if (list.length === 0) continue;
        tr.receiver.dtlsTransport
          ?.sendRtcp([rembPacket(tr.receiver.rtcpSsrc, list, PUBLISH_MAX_BITRATE)])
          .catch((err: unknown) => this.log.debug("REMB failed", { err: errorText(err) }));
      }
    };
    this.rembTimer = setInterval(send, REMB_MS);
    this.rembTimer.unref();
    send();
  }

  /** Asks the device to resend `lost` of its stream `ssrc`. */
  private sendNack(receiver: RTCRtpReceiver, ssrc: number | undefined, lost: number[]): void {
    if (ssrc === undefined || !receiver.dtlsTransport) return;
    const feedback = new GenericNack({ senderSsrc: receiver.rtcpSsrc, mediaSourceSsrc: ssrc, lost });
    receiver.dtlsTransport
      .sendRtcp([new RtcpTransportLayerFeedback({ feedback })])
      .catch((err: unknown) => this.log.debug("NACK failed", { err: errorText(err) }));
    // What werift's inbound-rtp stats count as nackCount.
    (receiver as unknown as Partial<WeriftReceiverNack>).nack?.onPacketLost.execute(feedback);
  }

  /** Reports packets the device's streams lost on the way in, from werift's receiver statistics. */
  private sampleLoss(pc: RTCPeerConnection): void {
    for (const t of pc.getTransceivers()) {
      t.receiver
        .getStats()
        .then((report) => {
          for (const stat of report.values() as Iterable<{ type: string; ssrc?: number; packetsLost?: number }>) {
            if (stat.type !== "inbound-rtp" || stat.ssrc === undefined || !stat.packetsLost) continue;
            const before = this.lostReported.get(stat.ssrc) ?? 0;
            if (stat.packetsLost > before) this.observer.packetsLost("device", stat.packetsLost - before);
            this.lostReported.set(stat.ssrc, Math.max(before, stat.packetsLost));
          }
        })
        .catch((err: unknown) => this.log.debug("receiver stats failed", { err: errorText(err) }));
    }
  }

  private createUpTrack(t: RTCRtpTransceiver, track: MediaStreamTrack, payloadType: number): UpTrack | undefined {
    const up = this.newUpTrack(t, payloadType, "", () => track.ssrc);
    if (!up) return undefined;
    this.log.info("device track", { kind: up.kind, codec: up.codec.mimeType });
    this.events.onTrack(up);
    return up;
  }

  /** The relay's handle on one received track (`key` tells a simulcast layer from its section's others). */
  private newUpTrack(t: RTCRtpTransceiver, payloadType: number, key: string, ssrc: () => number | undefined): UpTrack | undefined {
    if (this._closed) return undefined;
    const codec = t.codecs.find((c) => c.payloadType === payloadType);
    if (!codec) {
      this.log.warn("device sent an unnegotiated payload type", { payloadType });
      return undefined;
    }
    const kind = t.kind === "video" ? "video" : "audio";
    const receiver = t.receiver;
    const nack = kind === "video" && codec.rtcpFeedback.some((f) => f.type === "nack" && !f.parameter) && takeNacks(receiver);
    const up = new UpTrack({
      id: `up${++nextTrackId}`,
      codec: toTrackCodec(kind, codec),
      requestKeyframe: () => {
        const target = ssrc();
        if (target !== undefined) receiver.sendRtcpPLI(target).catch((err: unknown) => this.log.debug("PLI failed", { err: errorText(err) }));
      },
      nack: nack ? (lost) => this.sendNack(receiver, ssrc(), lost) : undefined,
      observer: this.observer,
    });
    this.upTracks.set((t.mid ?? up.id) + key, up);
    if (kind === "video") this.tellBitrate(t, () => [ssrc()].filter((s): s is number => s !== undefined));
    if (!this.lossTimer && this.pc) {
      const pc = this.pc;
      this.lossTimer = setInterval(() => this.sampleLoss(pc), LOSS_SAMPLE_MS);
      this.lossTimer.unref();
    }
    return up;
  }
}

/** The loss detector werift 0.25 keeps per receiver (not in its typings). */
interface WeriftReceiverNack {
  nack: { addPacket(packet: unknown): void; onPacketLost: { execute(nack: GenericNack): void } };
}

/**
 * Silences werift's own loss detector on `receiver`, so the UpTracks' take
 * its place; false when werift's internals are not as expected (werift's
 * then stays). It keeps one sequence space for the whole receiver, while a
 * simulcast section carries one per layer, and names in its NACKs the SSRC
 * of whichever packet came last; and it gives up on a packet after ten
 * requests 5 ms apart, less than most round trips.
 */
function takeNacks(receiver: RTCRtpReceiver): boolean {
  const nack = (receiver as unknown as Partial<WeriftReceiverNack>).nack;
  if (typeof nack?.addPacket !== "function" || typeof nack.onPacketLost?.execute !== "function") return false;
  nack.addPacket = () => undefined;
  nacksTaken.add(receiver);
  return true;
}

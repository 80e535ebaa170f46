import { RTCPeerConnection, type MediaStreamTrack, type RTCDataChannel, type RTCRtpSender, type RTCRtpTransceiver } from "werift";
import type { Logger } from "../log.js";
import type { IceCandidate } from "../protocol/messages.js";
import { DownTrack } from "../relay/down-track.js";
import { EstimatePeak } from "../relay/estimate-peak.js";
import { QUEUE_DRAIN_MS } from "../relay/layer-tuning.js";
import { LossMeter } from "../relay/loss-meter.js";
import type { RelayObserver } from "../relay/observer.js";
import { UpTrack, type TrackCodec } from "../relay/up-track.js";
import { routeFeedbackByMedia } from "./feedback-routing.js";
import { Listeners } from "./listeners.js";
import { peerConfig, publishCodecs, retransmissionCodec, subscribeCodec, toTrackCodec, type RtcSettings } from "./peer-config.js";
import { errorText } from "./errors.js";
import { roundTrips, type ReportBlock } from "./sender-report.js";
import type { SenderInternals } from "./sender-internals.js";
import { senderSink } from "./sender-sink.js";
import { CandidateBudget, checkRemoteSdp } from "./limits.js";
import { isMdnsCandidate, withoutMdnsCandidates } from "./mdns.js";
import { fixSctpReassembly } from "./sctp-reassembly.js";
import { quickSctpHandshake } from "./sctp-handshake.js";
import { localSdpForClients } from "./sdp.js";
import { resendRateBps } from "./resend-budget.js";
import { peerOpened } from "./census.js";
import { keepEarlyDtls } from "./early-dtls.js";
import { openSrtpNatively } from "./srtp-receive.js";
import { whenPeerKeyed } from "./peer-keyed.js";
import { rejected, whileOpen } from "./while-open.js";
import { CHANNEL_BACKLOG_BYTES, ChannelSender } from "./channel-send.js";

/**
 * How long a viewer's `input` channel may stay over CHANNEL_BACKLOG_BYTES
 * while messages are held back for it, ms. Coming down takes one message's
 * acknowledgement, so a viewer that is only slow does it within a round trip
 * or two; one that does not in this long acknowledges nothing.
 */
export const INPUT_DRAIN_MS = 10_000;

/** RTCP packet types and the FIR feedback format (RFC 3550, RFC 5104). */
const RTCP_SR = 200;
const RTCP_RR = 201;
const RTCP_PSFB = 206;
const FIR_FMT = 4;
/** The REMB feedback format of PSFB (draft-alvestrand-rmcat-remb). */
const REMB_FMT = 15;

/** What a Subscriber tells its owner. */
export interface SubscriberEvents {
  onConnectionState(state: string): void;
  onClosed(reason: string): void;
  /** The viewer's `input` channel opened. */
  onInputOpen(): void;
  /** A text line from the viewer on `input` (reliable, ordered) or `pointer` (unordered, never resent). */
  onInput(line: string, lane: "input" | "pointer"): void;
  /** The viewer started sending its microphone (talk-back). */
  onTalkTrack(track: UpTrack): void;
  /**
   * Feedback from the viewer on down track `down`: a new bandwidth estimate
   * (REMB; estimatedBitrate has it) or a receiver report (lossFraction has
   * the loss), with the round trip it gives, ms, when it is the first to
   * answer one of the server's recent sender reports (sender-report.ts).
   */
  onFeedback?(down: DownTrack, kind: "estimate" | "report", rttMs?: number): void;
}

/**
 * A NACK asking for more packets than this is a burst, not a link losing
 * packets at random: over 5 % loss and 40 ± 30 ms each way, 9 of 10 of
 * Chromium's NACKs asked for 1–4 packets (three quarters for one); a viewer
 * joining over 400 kbit/s on a 1280 px layer asked for 20–70 every 30 ms.
 */
const COPY_MAX_LOST = 4;

/**
 * Whether the resends for `lost` go twice (FastSender.resend): when the
 * viewer's link loses packets at random rather than for want of room. On
 * such a link a lost resend is what freezes the picture (the viewer asks
 * again only a round trip later), and the copies' few bytes fit. That is
 * when the NACK asks for a few packets (COPY_MAX_LOST), the viewer's
 * bandwidth estimate (REMB) carries what its track is sent and is not
 * falling (EstimatePeak), and no probe of the relay's fills the link or
 * its queue drains (QUEUE_DRAIN_MS). Copies sent into a full queue are
 * lost there and crowd out what follows: behind 400 kbit/s on the 320 px
 * layer the estimate sat at 130–140 kbit/s for about 150 sent, over 5 % loss
 * and 40 ± 30 ms at 175–180 for the same.
 */
function copyResends(sender: RTCRtpSender, estimates: EstimatePeak, down: DownTrack, lost: readonly number[]): boolean {
  if (down.kind !== "video" || lost.length > COPY_MAX_LOST) return false;
  const now = performance.now();
  const remb = Number(sender.receiverEstimatedMaxBitrate);
  const sent = down.upTrack?.temporalBitrate(down.temporal, now) ?? 0;
  return remb > 0 && remb >= sent && !estimates.falling(remb, now) && now - down.probedAt(now) > QUEUE_DRAIN_MS;
}

/** What a viewer's video resends may take of its link, bit/s, from what the relay knows of it (resendRateBps). */
function resendRate(sender: RTCRtpSender, loss: LossMeter, down: DownTrack): number {
  if (down.kind !== "video") return Infinity;
  // One report's fraction is no measure (droppedFraction).
  const lost = loss.settled ? loss.loss : undefined;
  const sent = down.upTrack?.temporalBitrate(down.temporal, performance.now()) ?? 0;
  return resendRateBps(Number(sender.receiverEstimatedMaxBitrate), lost, sent);
}

/**
 * The server side of one viewer's connection to one device: sendonly tracks
 * carrying the device's media. Each track is a DownTrack whose packets go out
 * through a werift sender's connection (fast-sender.ts once DTLS is up); each
 * viewer has its own SSRC, NACKs are answered from the packets as sent, and
 * werift sends the sender reports, so RTCP ends at this hop.
 */
export class Subscriber {
  readonly downTracks: DownTrack[] = [];
  /** The werift sender of each down track, in the same order. */
  private readonly senders: RTCRtpSender[] = [];
  /** The loss each down track's viewer reports, in the same order. */
  private readonly losses: LossMeter[] = [];
  private readonly pc: RTCPeerConnection;
  /** Uncounts the peer connection in the census (rtc/census.ts). */
  private readonly uncount = peerOpened("subscriber");
  private readonly listeners: Listeners;
  /** Trickled candidates this viewer may still add. */
  private readonly candidates = new CandidateBudget();
  private readonly input: RTCDataChannel;
  /** Sends on `input`, counting what the viewer has not acknowledged. */
  private readonly inputSender: ChannelSender;
  private talk: UpTrack | undefined;
  private _closed = false;
  /** Lets go of the native SRTP's hold on the transports (openSrtpNatively). */
  private releaseSrtp: () => void = () => undefined;

  constructor(
    private readonly rtc: RtcSettings,
    codecs: readonly TrackCodec[],
    private readonly events: SubscriberEvents,
    private readonly observer: RelayObserver,
    private readonly log: Logger,
  ) {
    const video = codecs.filter((c) => c.kind === "video").flatMap((c) => [subscribeCodec(c), retransmissionCodec()]);
    const audio = codecs.filter((c) => c.kind === "audio").map(subscribeCodec);
    // Talk-back needs Opus even when the device publishes no audio.
    if (audio.length === 0) audio.push(...publishCodecs().audio);
    this.pc = new RTCPeerConnection(peerConfig(rtc, { video, audio }));
    routeFeedbackByMedia(this.pc);
    this.listeners = new Listeners(log);
    for (const codec of codecs) {
      const transceiver = this.pc.addTransceiver(codec.kind, { direction: "sendonly" });
      const sender = transceiver.sender;
      const sink = senderSink(sender, codec.kind, this.observer, this.log);
      const down = new DownTrack(codec, sink);
      // Attached when the offer is made (Subscription), it keeps what comes until the viewer holds the keys (peer-keyed.ts).
      down.hold();
      this.listeners.on(sender.onReady, () =>
        whenPeerKeyed(
          sender,
          () => down.release(),
          () => down.leadIn(),
        ),
      );
      this.listeners.on(sender.onPictureLossIndication, () => {
        this.observer.keyframeRequestFromViewer("pli");
        down.requestKeyframe();
      });
      let lostReported = 0;
      const loss = new LossMeter();
      const estimates = new EstimatePeak();
      const roundTrip = roundTrips(sender);
      this.listeners.on(sender.onRtcp, (rtcp) => {
        // FIR is not surfaced by werift as an event; treat it like PLI.
        const psfb = rtcp.type === RTCP_PSFB ? (rtcp as { feedback?: { count?: number } }).feedback?.count : undefined;
        if (psfb === FIR_FMT) {
          this.observer.keyframeRequestFromViewer("fir");
          down.requestKeyframe();
        }
        // werift has stored the estimate (receiverEstimatedMaxBitrate) before this event.
        if (psfb === REMB_FMT) {
          const remb = Number(sender.receiverEstimatedMaxBitrate);
          if (remb > 0) estimates.add(remb, performance.now());
          this.events.onFeedback?.(down, "estimate");
        }
        if (rtcp.type === RTCP_SR || rtcp.type === RTCP_RR) {
          const report = (rtcp as { reports?: ReportBlock[] }).reports?.find((r) => r.ssrc === sender.ssrc);
          if (report && report.packetsLost > lostReported) {
            this.observer.packetsLost("viewer", report.packetsLost - lostReported);
            lostReported = report.packetsLost;
          }
          if (report) {
            // Resent on RTX, nothing the viewer gets again lowers its count of lost packets: the meter reads that count.
            const internals = sender as unknown as SenderInternals;
            loss.add(report, performance.now(), internals.rtxPayloadType !== undefined, internals.retransmittedPacketsSent ?? 0);
            this.events.onFeedback?.(down, "report", roundTrip(report));
          }
        }
      });
      let resent = 0;
      this.listeners.on(sender.onGenericNack, (nack) => {
        this.observer.nackReceived(nack.lost.length);
        // werift resends what its own cache holds (the packets sent before the fast path took over)
        // before it emits the event, the fast path the rest; the count is not in werift's typings.
        sink.resend(nack.lost, { copy: copyResends(sender, estimates, down, nack.lost), rateBps: resendRate(sender, loss, down) });
        const total = (sender as unknown as { retransmittedPacketsSent: number }).retransmittedPacketsSent ?? 0;
        if (total > resent) this.observer.retransmitted(total - resent);
        resent = total;
      });
      this.downTracks.push(down);
      this.senders.push(sender);
      this.losses.push(loss);
    }
    // The viewer's microphone arrives on the last audio section, the only one the server receives.
    const talk = this.pc.addTransceiver("audio", { direction: "recvonly" });
    this.listeners.on(talk.onTrack, (track: MediaStreamTrack) => this.talkStarted(track, talk));
    this.input = this.pc.createDataChannel("input", { ordered: true });
    this.inputSender = new ChannelSender(this.input);
    fixSctpReassembly(this.pc);
    quickSctpHandshake(this.pc);
    this.listeners.on(this.input.stateChanged, (state: string) => {
      if (state === "open") this.events.onInputOpen();
    });
    this.listeners.on(this.input.onMessage, (data: string | Buffer) => {
      if (typeof data === "string") this.events.onInput(data, "input");
    });
    // The viewer opens `pointer` itself (unordered, never resent: the next move supersedes a lost one).
    // werift cannot open such a channel: its DATA_CHANNEL_OPEN drops the unordered bit when
    // maxRetransmits is set. Any other channel, or a second `pointer`, is closed once its
    // opening is acknowledged (closed before, werift on the other side throws on the late ack).
    let pointer: RTCDataChannel | undefined;
    this.listeners.on(this.pc.onDataChannel, (channel: RTCDataChannel) => {
      if (channel.label !== "pointer" || pointer) return void setImmediate(() => channel.close());
      pointer = channel;
      this.listeners.on(channel.onMessage, (data: string | Buffer) => {
        if (typeof data === "string") this.events.onInput(data, "pointer");
      });
    });
    this.listeners.on(this.pc.connectionStateChange, (state: string) => {
      this.events.onConnectionState(state);
      if (state === "failed" || state === "closed") this.close(`connection ${state}`);
    });
  }

  get closed(): boolean {
    return this._closed;
  }

  /**
   * The share of down track `i`'s packets the viewer lost lately, or that
   * the relay had to send it again, whichever is more (0–1, LossMeter), once
   * it reported: a packet asked for again, lost or only late, is one its
   * link did not deliver in time, and its resend is load on that link too.
   */
  lossFraction(i: number): number | undefined {
    const meter = this.losses[i];
    const loss = meter?.loss;
    return loss === undefined ? undefined : Math.max(loss, meter.resendShare);
  }

  /**
   * The share of down track `i`'s packets the viewer reports lost lately,
   * resends left out (0–1, LossMeter), once its reports span a window of
   * packets (one report is no measure: at join over 5 % loss and 40 ± 30 ms
   * each way, the first said 89 %, packets still on their way counted lost).
   */
  droppedFraction(i: number): number | undefined {
    const meter = this.losses[i];
    return meter?.settled === true ? meter.loss : undefined;
  }

  /** The viewer's estimate of the bandwidth it has for down track `i` (its REMB), bits/s, once it sent one. */
  estimatedBitrate(i: number): number | undefined {
    const remb = this.senders[i]?.receiverEstimatedMaxBitrate;
    return remb && remb > 0n ? Number(remb) : undefined;
  }

  /** Creates the server's offer, with every candidate in it. */
  async offer(): Promise<string> {
    const pc = this.pc;
    await whileOpen(pc, async () => pc.setLocalDescription(await pc.createOffer()));
    keepEarlyDtls(this.pc);
    // A viewer that left while werift made the offer: a closed subscriber takes nothing over.
    if (!this._closed) this.releaseSrtp = openSrtpNatively(this.pc);
    const local = this.pc.localDescription;
    if (!local) throw new Error("no local description");
    return localSdpForClients(local.sdp, this.rtc);
  }

  /** Applies the viewer's answer. */
  async accept(answerSdp: string): Promise<void> {
    if (this._closed) throw new Error("subscriber is closed");
    checkRemoteSdp(answerSdp, "answer");
    try {
      await whileOpen(this.pc, () => this.pc.setRemoteDescription({ type: "answer", sdp: withoutMdnsCandidates(answerSdp) }));
    } catch (err) {
      throw rejected("answer", err);
    }
  }

  /** Adds a candidate the viewer trickled. */
  async addCandidate(candidate: IceCandidate | null): Promise<void> {
    if (this._closed || !candidate || candidate.candidate === "") return;
    this.candidates.take();
    if (isMdnsCandidate(candidate.candidate)) return;
    try {
      await this.pc.addIceCandidate(candidate);
    } catch (err) {
      throw rejected("candidate", err);
    }
  }

  /**
   * Sends a text message to the viewer on `input`; false when it was not
   * sent (the channel is not open, or stuck). A viewer that leaves too much
   * unsent there (channel-send.ts: it does not read, or its link cannot
   * carry the device's messages) is dropped at the next message: the server
   * queues no more for it.
   */
  sendInput(text: string): boolean {
    if (this._closed) return false;
    const sent = this.inputSender.send(text);
    if (sent === "stuck") {
      this.log.info("viewer's input channel not read; dropped", { unacked: this.inputSender.unacked });
      this.close("input channel not read");
    }
    return sent === "sent";
  }

  /** Over CHANNEL_BACKLOG_BYTES wait unacknowledged on `input`: the viewer's link is behind the device's messages. */
  get inputBacklogged(): boolean {
    return this.inputSender.unacked > CHANNEL_BACKLOG_BYTES;
  }

  /**
   * Calls `fn` once, when what waits unacknowledged on `input` falls to
   * CHANNEL_BACKLOG_BYTES (replacing any `fn` before); never once closed. A
   * viewer whose channel has not come down to it INPUT_DRAIN_MS after the
   * first call acknowledges nothing: it is dropped, as at MAX_CHANNEL_UNSENT_BYTES.
   */
  whenInputDrained(fn: () => void): void {
    if (this._closed) return;
    this.inputSender.whenBelow(CHANNEL_BACKLOG_BYTES, fn, {
      ms: INPUT_DRAIN_MS,
      onMissed: () => {
        this.log.info("viewer's input channel not read; dropped", { unacked: this.inputSender.unacked, waitedMs: INPUT_DRAIN_MS });
        this.close("input channel not read");
      },
    });
  }

  /** Closes the peer and its DownTracks; idempotent. */
  close(reason = "closed"): void {
    if (this._closed) return;
    this._closed = true;
    this.listeners.clear();
    this.inputSender.close();
    this.releaseSrtp();
    for (const d of this.downTracks) d.close();
    this.talk?.close();
    this.pc.close().catch((err: unknown) => this.log.debug("subscriber close", { err: errorText(err) }));
    this.uncount();
    this.events.onClosed(reason);
  }

  private talkStarted(track: MediaStreamTrack, transceiver: RTCRtpTransceiver): void {
    this.listeners.on(track.onReceiveRtp, (rtp) => {
      if (!this.talk) {
        const codec = transceiver.codecs.find((c) => c.payloadType === rtp.header.payloadType);
        if (!codec) return;
        this.talk = new UpTrack({ id: `talk-${track.id}`, codec: toTrackCodec("audio", codec), requestKeyframe: () => {}, observer: this.observer });
        this.events.onTalkTrack(this.talk);
      }
      this.talk.push(rtp.header.sequenceNumber, rtp.header.timestamp, rtp.header.marker, rtp.payload);
    });
  }
}

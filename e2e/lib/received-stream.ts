/**
 * What a werift viewer received for one watched device: counts, sequence
 * numbers, the first packet, and a GStreamer decoder when asked. Fed by
 * receiveMedia; used by WeriftViewer (werift-peers.ts) and the benches.
 */
import {
  GenericNack,
  PictureLossIndication,
  RtcpPayloadSpecificFeedback,
  RtcpTransportLayerFeedback,
  type RTCDataChannel,
  type RTCPeerConnection,
  type RTCRtpReceiver,
  type RtpPacket,
} from "werift";
import { GstPipeline } from "../../pipelines/pipeline.js";
import { RTP_DECODE_ELEMENTS, rtpDecodeDescription } from "../../pipelines/descriptions.js";
import { isKeyframeStart } from "../../server/relay/keyframe.js";
import { rembPacket } from "../../server/rtc/remb.js";
import { vp8KeyframeSize } from "../../server/relay/vp8.js";

/** What a viewer received for one watched device. */
export class ReceivedStream {
  videoPackets = 0;
  audioPackets = 0;
  videoBytes = 0;
  /** Padding-only video packets (not in videoPackets). */
  paddingPackets = 0;
  /** The sequence numbers of padding-only packets that came before the first video packet (the relay's lead-in). */
  readonly leadIns: number[] = [];
  /** Was the first video packet (padding aside) the start of a keyframe? */
  firstVideoWasKeyframe: boolean | undefined;
  firstVideoAt: number | undefined;
  decodedFrames = 0;
  /** PLIs sent: a decoding viewer asks for a keyframe when nothing decoded for a second while video comes, as a browser does. */
  plisSent = 0;
  private decodedAt = 0;
  private pliAt = -Infinity;
  videoCodec: string | undefined;
  /** Sequence numbers of the video packets seen (padding aside), to check continuity. */
  readonly videoSeqs: number[] = [];
  /** Each of those packets' playout-delay value (the extension's 24 bits), -1 for none. */
  readonly videoPlayoutDelays: number[] = [];
  /** The playout-delay extension's id in this connection (0: not negotiated), once looked up. */
  private playoutDelayId: number | undefined;
  readonly videoSsrcs = new Set<number>();
  /** The picture size the last VP8 keyframe announced. */
  keyframeSize: { width: number; height: number } | undefined;
  private decoder: GstPipeline | undefined;
  /** The video receiver and the SSRC it receives, once media flows. */
  videoReceiver: RTCRtpReceiver | undefined;
  /** The server's `input` data channel and what arrived on it. */
  input: RTCDataChannel | undefined;
  readonly inputMessages: string[] = [];

  constructor(
    readonly pc: RTCPeerConnection,
    private readonly decode: boolean,
  ) {}

  /** Sends the relay a NACK for these video sequence numbers, as a viewer that lost them would. */
  async nack(lost: number[]): Promise<void> {
    const receiver = this.videoReceiver;
    const ssrc = [...this.videoSsrcs][0];
    if (!receiver || ssrc === undefined) throw new Error("no video yet");
    const feedback = new GenericNack({ senderSsrc: receiver.rtcpSsrc, mediaSourceSsrc: ssrc, lost });
    await receiver.dtlsTransport.sendRtcp([new RtcpTransportLayerFeedback({ feedback })]);
  }

  /** Sends the relay a bandwidth estimate (REMB) for the video, bits/s, as a browser does. */
  async remb(bps: number): Promise<void> {
    const receiver = this.videoReceiver;
    const ssrc = [...this.videoSsrcs][0];
    if (!receiver || ssrc === undefined) throw new Error("no video yet");
    await receiver.dtlsTransport.sendRtcp([rembPacket(receiver.rtcpSsrc, [ssrc], bps)]);
  }

  onVideo(rtp: RtpPacket, mimeType: string): void {
    if (rtp.header.padding && rtp.payload.length === 0) {
      // Padding only (a lead-in or a probe): no media, as a browser takes it; not in videoSeqs (never resent).
      if (this.firstVideoAt === undefined) this.leadIns.push(rtp.header.sequenceNumber);
      this.paddingPackets++;
      return;
    }
    if (this.firstVideoWasKeyframe === undefined) {
      this.firstVideoWasKeyframe = isKeyframeStart(mimeType.toLowerCase(), rtp.payload);
      this.firstVideoAt = performance.now();
      this.videoCodec = mimeType.toLowerCase();
      if (this.decode) this.startDecoder(mimeType.toLowerCase() === "video/h264" ? "h264" : "vp8", rtp.header.payloadType);
    }
    this.videoPackets++;
    this.videoBytes += rtp.payload.length;
    if (this.videoCodec === "video/vp8") this.keyframeSize = vp8KeyframeSize(rtp.payload) ?? this.keyframeSize;
    if (this.videoSeqs.length < 100_000) {
      this.videoSeqs.push(rtp.header.sequenceNumber);
      this.videoPlayoutDelays.push(this.playoutDelayOf(rtp));
    }
    this.videoSsrcs.add(rtp.header.ssrc);
    this.decoder?.pushTo(RTP_DECODE_ELEMENTS.src, rtp.serialize());
    if (this.decoder) this.askKeyframeWhenStuck(rtp.header.ssrc);
  }

  private playoutDelayOf(rtp: RtpPacket): number {
    if (this.playoutDelayId === undefined) {
      const m = /^a=extmap:(\d+)(?:\/\w+)? http:\/\/www\.webrtc\.org\/experiments\/rtp-hdrext\/playout-delay\r?$/m.exec(this.pc.localDescription?.sdp ?? "");
      this.playoutDelayId = m ? Number(m[1]) : 0;
    }
    const ext = rtp.header.extensions.find((e) => e.id === this.playoutDelayId);
    return ext?.payload.length === 3 ? ext.payload.readUIntBE(0, 3) : -1;
  }

  /** Sends a PLI when no frame decoded for a second (once a second at most): a lost keyframe is not waited out. */
  private askKeyframeWhenStuck(ssrc: number): void {
    const now = performance.now();
    const receiver = this.videoReceiver;
    if (!receiver || now - Math.max(this.decodedAt, this.firstVideoAt ?? now) < 1000 || now - this.pliAt < 1000) return;
    this.pliAt = now;
    this.plisSent++;
    const feedback = new PictureLossIndication({ senderSsrc: receiver.rtcpSsrc, mediaSsrc: ssrc });
    receiver.dtlsTransport.sendRtcp([new RtcpPayloadSpecificFeedback({ feedback })]).catch(() => undefined);
  }

  /** A video packet seen only by its RTP header (sequence number and SSRC sent in the clear): see receiveMedia's headersOnly. */
  onVideoHeader(sequenceNumber: number, ssrc: number, payloadBytes: number): void {
    this.videoPackets++;
    this.videoBytes += payloadBytes;
    if (this.videoSeqs.length < 100_000) this.videoSeqs.push(sequenceNumber);
    this.videoSsrcs.add(ssrc);
  }

  private startDecoder(codec: "vp8" | "h264", pt: number): void {
    // Reused: a pipeline made anew is never freed (pipeline.ts), and a test may watch many times.
    this.decoder = new GstPipeline(rtpDecodeDescription(codec, pt), { reuse: true });
    this.decoder.start();
    this.decoder.pullFrom(RTP_DECODE_ELEMENTS.sink, () => {
      this.decodedFrames++;
      this.decodedAt = performance.now();
    });
  }

  close(): void {
    this.decoder?.close();
  }
}

/**
 * Feeds what `pc` receives into `stream`. With `headersOnly`, once the
 * connection is up each SRTP packet is counted by its RTP header (sent in the
 * clear: sequence number, SSRC, payload type) and dropped there, neither
 * decrypted nor handed to werift; RTCP, STUN and DTLS still reach werift. That
 * makes a viewer cost a few microseconds per packet instead of werift's whole
 * receive path, so a bench's viewers cost less than the server they load.
 * Such a viewer sends no NACKs or receiver reports: a loss it sees is never repaired.
 */
export function receiveMedia(pc: RTCPeerConnection, stream: ReceivedStream, headersOnly: boolean): void {
  pc.onTrack.subscribe((track) => {
    const transceiver = pc.getTransceivers().find((t) => t.receiver.tracks.includes(track));
    track.onReceiveRtp.subscribe((rtp) => {
      if (track.kind === "video") {
        stream.videoReceiver ??= transceiver?.receiver;
        const codec = transceiver?.codecs.find((c) => c.payloadType === rtp.header.payloadType);
        stream.onVideo(rtp, codec?.mimeType ?? "video/vp8");
      } else stream.audioPackets++;
    });
  });
  if (!headersOnly) return;
  const sub = pc.connectionStateChange.subscribe((state) => {
    if (state !== "connected") return;
    sub.unSubscribe();
    const videoPts = new Set(
      pc
        .getTransceivers()
        .filter((t) => t.kind === "video")
        .flatMap((t) => t.codecs.map((c) => c.payloadType)),
    );
    const connection = pc.getTransceivers()[0]?.receiver.dtlsTransport.iceTransport.connection;
    if (!connection) return;
    const deliver = connection.onData.execute;
    connection.onData.execute = (data: Buffer) => {
      // RTP (version 2, not an RTCP packet type 192..223): count the header, drop the rest.
      if (data.length >= 12 && data[0] >> 6 === 2 && (data[1] < 192 || data[1] > 223)) {
        const headerEnd = 12 + 4 * (data[0] & 0x0f);
        if (videoPts.has(data[1] & 0x7f)) stream.onVideoHeader(data.readUInt16BE(2), data.readUInt32BE(8), data.length - headerEnd);
        else stream.audioPackets++;
        return;
      }
      deliver(data);
    };
  });
}

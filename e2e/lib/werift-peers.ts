/**
 * Real werift peers that speak Tessera's signaling: a device publishing a
 * GStreamer test pattern, and a viewer that receives (and optionally
 * decodes) what the relay forwards. Used by integration tests and benches.
 * ICE stays on loopback.
 */
import {
  GenericNack,
  MediaStreamTrack,
  PictureLossIndication,
  RTCPeerConnection,
  RTCRtpCodecParameters,
  RtcpPayloadSpecificFeedback,
  RtcpTransportLayerFeedback,
  type RTCDataChannel,
  type RTCRtpReceiver,
  type RtpPacket,
} from "werift";
import { GstPipeline } from "../../pipelines/pipeline.js";
import {
  RTP_DECODE_ELEMENTS,
  TEST_SOURCE_ELEMENTS,
  rtpDecodeDescription,
  testSourceDescription,
  type TestSourceOptions,
} from "../../pipelines/descriptions.js";
import { isKeyframeStart } from "../../server/relay/keyframe.js";
import { vp8KeyframeSize } from "../../server/relay/vp8.js";
import { peerConfig, publishCodecs } from "../../server/rtc/peer-config.js";
import { recordThenLoop, RtpRecorder, type RtpReplay } from "./rtp-replay.js";
import { SignalingClient } from "./signaling-client.js";

/** The server's own peer settings pinned to one address (loopback unless told): no STUN query leaves the machine. */
const pinned = (codecs: ReturnType<typeof codecsFor>, host = "127.0.0.1") => peerConfig({ iceHosts: [host], iceServers: [] }, codecs);

const FEEDBACK = [{ type: "nack" }, { type: "nack", parameter: "pli" }, { type: "ccm", parameter: "fir" }];
const H264_FMTP = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f";

function codecsFor(video: "vp8" | "h264" | "both") {
  const vp8 = new RTCRtpCodecParameters({ mimeType: "video/VP8", clockRate: 90000, rtcpFeedback: FEEDBACK });
  const h264 = new RTCRtpCodecParameters({ mimeType: "video/H264", clockRate: 90000, rtcpFeedback: FEEDBACK, parameters: H264_FMTP });
  return {
    video: video === "vp8" ? [vp8] : video === "h264" ? [h264] : [vp8, h264],
    audio: [new RTCRtpCodecParameters({ mimeType: "audio/opus", clockRate: 48000, channels: 2 })],
  };
}

/** How long a device's peer connection may take to connect before it offers again on a new one. */
const CONNECT_MS = 10_000;
/** Offers a device makes before publish() gives up. */
const ATTEMPTS = 3;

/** Options of WeriftDevice.publish. */
interface PublishOptions {
  id: string;
  /** Changes each video RTP packet (header included) before it is sent: a device that lies in its bitstream. */
  rewriteVideo?: (rtp: Buffer) => Buffer;
  name?: string;
  codec?: "vp8" | "h264";
  source?: Partial<TestSourceOptions>;
  dataChannel?: boolean;
  token?: string;
  /** A device key instead of a token (hello `key`, or the WHIP Bearer token). */
  key?: string;
  whip?: string;
  /** The one address the device's ICE gathers (default 127.0.0.1). */
  iceHost?: string;
  /**
   * Encodes for two seconds and then this many more (sending as it goes),
   * then stops the encoder and sends what it made in those seconds again
   * in a loop (rtp-replay.ts): a publisher whose CPU a bench's other work
   * can have. A keyframe request restarts the loop at its first frame, a
   * keyframe.
   */
  replaySeconds?: number;
}

/**
 * A device publishing the test pattern through werift. Over signaling it
 * waits until its peer connection is up, and offers again on a new one if
 * it is not within 10 s: on a loaded 2-core machine werift's DTLS handshake
 * now and then never completes, and a real device would retry the same way.
 */
export class WeriftDevice {
  /** PLIs the server sent us. */
  plis = 0;
  /** NACKs the server sent us (for its own hop's losses only). */
  nacks = 0;
  /** Lines that arrived on the `input` data channel. */
  readonly inputLines: string[] = [];
  /** The `input` data channel, when asked for. */
  input: RTCDataChannel | undefined;
  /** Video packets sent. */
  packetsSent = 0;
  audioPacketsSent = 0;
  /** While true, nothing is sent (a screen that stopped changing); the connection stays up. */
  paused = false;
  /** The WHIP session resource, for a device that published over WHIP. */
  whipResource: string | undefined;
  /** The Authorization header of the WHIP session, for its DELETE. */
  whipAuth: Record<string, string> = {};
  /** The WHIP session's ETag. */
  whipEtag: string | undefined;
  /** The current peer connection. */
  pc!: RTCPeerConnection;
  private video: MediaStreamTrack | undefined;
  private audio: MediaStreamTrack | undefined;
  /** With replaySeconds, once the recording is made: the video loop and the audio one. */
  private replays: RtpReplay[] = [];

  /** Loops of the recorded video begun so far (restarts included); 0 while encoding. */
  get replayLoops(): number {
    return this.replays[0]?.loops ?? 0;
  }

  private constructor(
    readonly signaling: SignalingClient | undefined,
    private readonly pipeline: GstPipeline,
  ) {}

  /** Connects, negotiates and starts sending. Resolves once the server answered (and, over signaling, the connection is up). */
  static async publish(wsUrl: string, opts: PublishOptions): Promise<WeriftDevice> {
    const codec = opts.codec ?? "vp8";
    let signaling: SignalingClient | undefined;
    if (!opts.whip) {
      signaling = await SignalingClient.connect(wsUrl);
      signaling.send({
        type: "hello",
        role: "device",
        protocol: 1,
        device: { id: opts.id, name: opts.name ?? opts.id, kind: "test" },
        ...(opts.token ? { token: opts.token } : {}),
        ...(opts.key ? { key: opts.key } : {}),
      });
      await signaling.next("welcome");
    }
    const pipeline = new GstPipeline(testSourceDescription({ codec, label: opts.name ?? opts.id, ...opts.source }));
    const device = new WeriftDevice(signaling, pipeline);
    for (let attempt = 1; ; attempt++) {
      await device.negotiate(codec, opts);
      if (!signaling || (await device.connected(CONNECT_MS))) break;
      if (attempt === ATTEMPTS) {
        pipeline.close();
        signaling.close();
        throw new Error(`the device's peer connection did not connect in ${ATTEMPTS} attempts`);
      }
      // A new offer replaces the device's WebRTC session on the server.
      await device.pc.close();
    }
    const sendVideo = (buf: Buffer) => {
      if (device.paused) return;
      device.packetsSent++;
      device.video?.writeRtp(opts.rewriteVideo ? opts.rewriteVideo(buf) : buf);
    };
    const sendAudio = (buf: Buffer) => {
      if (device.paused) return;
      device.audioPacketsSent++;
      device.audio?.writeRtp(buf);
    };
    const recorder = opts.replaySeconds ? new RtpRecorder(`video/${codec}`) : undefined;
    pipeline.start();
    pipeline.pullFrom(TEST_SOURCE_ELEMENTS.videoSink, (buf) => {
      recorder?.video(buf);
      sendVideo(buf);
    });
    pipeline.pullFrom(TEST_SOURCE_ELEMENTS.audioSink, (buf) => {
      recorder?.audio(buf);
      sendAudio(buf);
    });
    if (recorder) {
      try {
        const encoder = { forceKeyframe: () => pipeline.forceKeyUnit(TEST_SOURCE_ELEMENTS.videoSink), stop: () => pipeline.close() };
        device.replays = await recordThenLoop(recorder, (opts.replaySeconds ?? 0) * 1000, encoder, { video: sendVideo, audio: sendAudio });
      } catch (err) {
        await device.close();
        throw err;
      }
    }
    return device;
  }

  /** A new peer connection, its offer and the server's answer. */
  private async negotiate(codec: "vp8" | "h264", opts: PublishOptions): Promise<void> {
    const pc = new RTCPeerConnection(pinned(codecsFor(codec), opts.iceHost));
    this.pc = pc;
    const video = new MediaStreamTrack({ kind: "video" });
    const audio = new MediaStreamTrack({ kind: "audio" });
    const vt = pc.addTransceiver(video, { direction: "sendonly" });
    pc.addTransceiver(audio, { direction: "sendonly" });
    this.video = video;
    this.audio = audio;
    if (opts.dataChannel) {
      const input = pc.createDataChannel("input");
      this.input = input;
      input.onMessage.subscribe((data) => this.inputLines.push(data.toString()));
    }
    vt.sender.onPictureLossIndication.subscribe(() => {
      this.plis++;
      if (this.replays.length > 0) this.replays[0].restart();
      else this.pipeline.forceKeyUnit(TEST_SOURCE_ELEMENTS.videoSink);
    });
    vt.sender.onGenericNack.subscribe(() => this.nacks++);
    await pc.setLocalDescription(await pc.createOffer());
    if (this.signaling) {
      const mark = this.signaling.received.length;
      this.signaling.send({ type: "offer", sdp: pc.localDescription!.sdp });
      const answer = await this.signaling.next("answer", () => true, 5000, mark);
      await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
      return;
    }
    // WHIP (RFC 9725): the offer with every candidate, one POST; the answer comes back with a session resource.
    const bearer = opts.key ?? opts.token;
    this.whipAuth = bearer ? { Authorization: `Bearer ${bearer}` } : {};
    const res = await fetch(opts.whip!, { method: "POST", headers: { "Content-Type": "application/sdp", ...this.whipAuth }, body: pc.localDescription!.sdp });
    if (res.status !== 201) throw new Error(`WHIP POST answered ${res.status}: ${await res.text()}`);
    this.whipResource = new URL(res.headers.get("Location")!, opts.whip).toString();
    this.whipEtag = res.headers.get("ETag") ?? undefined;
    await pc.setRemoteDescription({ type: "answer", sdp: await res.text() });
  }

  /** Whether the peer connection is (or within `timeoutMs` becomes) connected. */
  private connected(timeoutMs: number): Promise<boolean> {
    if (this.pc.connectionState === "connected") return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        sub.unSubscribe();
        resolve(false);
      }, timeoutMs);
      const sub = this.pc.connectionStateChange.subscribe((state) => {
        if (state !== "connected") return;
        clearTimeout(timer);
        sub.unSubscribe();
        resolve(true);
      });
    });
  }

  /** Sends a device → viewers message once the input channel is open. */
  async sendMessage(message: object): Promise<void> {
    const input = this.input;
    if (!input) throw new Error("no input channel");
    if (input.readyState !== "open") await new Promise<void>((r) => input.stateChanged.subscribe((s) => s === "open" && r()));
    input.send(JSON.stringify(message));
  }

  /** Stops media and signaling. */
  async close(): Promise<void> {
    for (const r of this.replays) r.stop();
    this.pipeline.close();
    this.signaling?.close();
    if (this.whipResource) await fetch(this.whipResource, { method: "DELETE", headers: this.whipAuth }).catch(() => undefined);
    await this.pc.close();
  }
}

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
    this.decoder = new GstPipeline(rtpDecodeDescription(codec, pt));
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

/** How a WeriftViewer's peer connections are made. */
interface ViewerOptions {
  iceServers?: { urls: string | string[]; username?: string; credential?: string }[];
  /** iceTransportPolicy "relay". */
  relay?: boolean;
  /** The one address the viewer's ICE gathers (default 127.0.0.1). */
  iceHost?: string;
  /** Once connected, count RTP by its headers only (see receiveMedia): a load generator for benches. */
  headersOnly?: boolean;
}

/** The answering side's codecs (VP8 and H.264 video, Opus), ICE pinned to `host`: a viewer's peer of its own, e.g. for another server's offer. */
export function viewerPeerConfig(host?: string): ReturnType<typeof pinned> {
  return pinned(codecsFor("both"), host);
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

/** A viewer that watches devices through werift. */
export class WeriftViewer {
  readonly streams = new Map<string, ReceivedStream>();
  private constructor(
    readonly signaling: SignalingClient,
    private readonly decode: boolean,
    private readonly ice: ViewerOptions = {},
  ) {
    signaling.onMessage((m) => {
      if (m.type === "offer") this.answer(m.deviceId, m.sdp, m.offerId).catch((err) => console.error("viewer answer failed", err));
    });
  }

  /** `iceServers` and `relay` (iceTransportPolicy "relay") reach the viewer's peer connections. */
  static async connect(wsUrl: string, opts: ViewerOptions & { decode?: boolean; token?: string } = {}): Promise<WeriftViewer> {
    const signaling = await SignalingClient.connect(wsUrl);
    signaling.send({ type: "hello", role: "viewer", protocol: 1, ...(opts.token ? { token: opts.token } : {}) });
    await signaling.next("welcome");
    return new WeriftViewer(signaling, opts.decode ?? false, opts);
  }

  /** Asks to watch a device (saying which video codecs it receives, when given); the stream fills as media arrives. */
  watch(deviceId: string, codecs?: string[]): void {
    this.signaling.send({ type: "watch", deviceId, ...(codecs ? { codecs } : {}) });
  }

  private async answer(deviceId: string, sdp: string, offerId: number): Promise<void> {
    void this.streams.get(deviceId)?.pc.close();
    this.streams.get(deviceId)?.close();
    const config = pinned(codecsFor("both"), this.ice.iceHost);
    if (this.ice.iceServers?.length) config.iceServers = this.ice.iceServers;
    if (this.ice.relay) config.iceTransportPolicy = "relay";
    const pc = new RTCPeerConnection(config);
    const stream = new ReceivedStream(pc, this.decode);
    this.streams.set(deviceId, stream);
    receiveMedia(pc, stream, this.ice.headersOnly ?? false);
    pc.onDataChannel.subscribe((channel) => {
      if (channel.label !== "input") return;
      stream.input = channel;
      channel.onMessage.subscribe((data) => stream.inputMessages.push(data.toString()));
    });
    await pc.setRemoteDescription({ type: "offer", sdp });
    await pc.setLocalDescription(await pc.createAnswer());
    this.signaling.send({ type: "answer", deviceId, sdp: pc.localDescription!.sdp, offerId });
  }

  async close(): Promise<void> {
    this.signaling.close();
    for (const s of this.streams.values()) {
      s.close();
      await s.pc.close();
    }
  }
}

/** A device's offer as werift makes it (VP8 and H.264 video, Opus audio, the input data channel): what the fuzzers mutate. */
export async function weriftOffer(): Promise<string> {
  const pc = new RTCPeerConnection({ codecs: publishCodecs(), iceUseIpv6: false });
  try {
    pc.addTransceiver("video", { direction: "sendonly" });
    pc.addTransceiver("audio", { direction: "sendrecv" });
    pc.createDataChannel("input");
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    return pc.localDescription?.sdp ?? offer.sdp;
  } finally {
    await pc.close();
  }
}

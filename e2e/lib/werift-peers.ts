/**
 * Real werift peers that speak Tessera's signaling: a device publishing a
 * GStreamer test pattern, and a viewer that receives (and optionally
 * decodes) what the relay forwards. Used by integration tests and benches.
 * ICE stays on loopback.
 */
import { MediaStreamTrack, RTCPeerConnection, RTCRtpCodecParameters, type RTCDataChannel } from "werift";
import { GstPipeline } from "../../pipelines/pipeline.js";
import { TEST_SOURCE_ELEMENTS, testSourceDescription, type TestSourceOptions } from "../../pipelines/descriptions.js";
import { peerConfig, publishCodecs, retransmissionCodec } from "../../server/rtc/peer-config.js";
import { ReceivedStream, receiveMedia } from "./received-stream.js";
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

/** How a WeriftViewer's peer connections are made. */
interface ViewerOptions {
  iceServers?: { urls: string | string[]; username?: string; credential?: string }[];
  /** iceTransportPolicy "relay". */
  relay?: boolean;
  /** The one address the viewer's ICE gathers (default 127.0.0.1). */
  iceHost?: string;
  /** Once connected, count RTP by its headers only (see receiveMedia): a load generator for benches. */
  headersOnly?: boolean;
  /**
   * The viewer's SCTP ignores every packet, so its data channels never open
   * and neither side's connection is ever called connected, while media
   * flows (as on a link that keeps losing the SCTP handshake).
   */
  silentSctp?: boolean;
  /** The viewer takes RTX for its video (resends on an SSRC of their own, as browsers do). */
  rtx?: boolean;
}

/** The answering side's codecs (VP8 and H.264 video, Opus), ICE pinned to `host`: a viewer's peer of its own, e.g. for another server's offer. */
export function viewerPeerConfig(host?: string): ReturnType<typeof pinned> {
  return pinned(codecsFor("both"), host);
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
    const codecs = codecsFor("both");
    // werift ties an RTX codec to the codec before it.
    if (this.ice.rtx) codecs.video = codecs.video.flatMap((c) => [c, retransmissionCodec()]);
    const config = pinned(codecs, this.ice.iceHost);
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
    if (this.ice.silentSctp) stopSctpReading(pc);
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

/**
 * From now on `pc`'s SCTP takes nothing in, so nothing its peer sends on a
 * data channel is acknowledged; the returned function makes it read again.
 * werift's SCTP reads each packet through its own handleData (sctp.js),
 * made once an offer or answer with a data channel is applied.
 */
export function stopSctpReading(pc: RTCPeerConnection): () => void {
  const sctp = (pc as unknown as { sctpTransport?: { sctp?: { handleData(data: Buffer): Promise<void> } } }).sctpTransport?.sctp;
  if (!sctp) throw new Error("stopSctpReading: the connection has no SCTP transport");
  const handle = sctp.handleData.bind(sctp);
  sctp.handleData = async () => {};
  return () => {
    sctp.handleData = handle;
  };
}

import { MediaStreamTrack, RTCPeerConnection, RTCRtpCodecParameters, type RTCDataChannel } from "werift";
import type { RtpVideoCodec } from "../../pipelines/descriptions.js";
import type { IceCandidate, IceServer } from "../protocol/messages.js";
import { routeFeedbackByMedia } from "./feedback-routing.js";
import { peerConfig } from "./peer-config.js";
import { keepEarlyDtls } from "./early-dtls.js";
import { whileOpen } from "./while-open.js";

const FEEDBACK = [{ type: "nack" }, { type: "nack", parameter: "pli" }, { type: "ccm", parameter: "fir" }];

/** What a device's peer reports. */
export interface DevicePeerEvents {
  /** The server asked for a keyframe (PLI). */
  onKeyframeRequest(): void;
  /** A line or JSON text on the `input` data channel. */
  onInput(text: string): void;
  /** The `input` channel opened (again): send what viewers should know. */
  onInputOpen(): void;
  /** One talk-back Opus packet (only with `talkBack`). */
  onTalk(sequenceNumber: number, timestamp: number, marker: boolean, payload: Buffer): void;
  onConnectionState(state: string): void;
}

/**
 * The client side of a device's WebRTC connection, as the desktop agent
 * publishes through it: a send-only video section, optionally a send-only
 * audio section and a receive-only one for the controller's talk-back, and
 * the `input` data channel. RTP goes in as the local pipelines make it.
 */
export class DevicePeer {
  private readonly pc: RTCPeerConnection;
  private readonly video = new MediaStreamTrack({ kind: "video" });
  private readonly sound: MediaStreamTrack | undefined;
  private readonly input: RTCDataChannel;

  constructor(iceServers: IceServer[], o: { codec: RtpVideoCodec; audio: boolean }, events: DevicePeerEvents) {
    const video =
      o.codec === "vp8"
        ? new RTCRtpCodecParameters({ mimeType: "video/VP8", clockRate: 90000, rtcpFeedback: FEEDBACK })
        : new RTCRtpCodecParameters({
            mimeType: "video/H264",
            clockRate: 90000,
            rtcpFeedback: FEEDBACK,
            parameters: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
          });
    const opus = o.audio ? [new RTCRtpCodecParameters({ mimeType: "audio/opus", clockRate: 48000, channels: 2 })] : [];
    this.pc = new RTCPeerConnection(peerConfig({ iceHosts: [], iceServers }, { video: [video], audio: opus }));
    routeFeedbackByMedia(this.pc);
    const transceiver = this.pc.addTransceiver(this.video, { direction: "sendonly" });
    transceiver.sender.onPictureLossIndication.subscribe(() => events.onKeyframeRequest());
    if (o.audio) {
      this.sound = new MediaStreamTrack({ kind: "audio" });
      this.pc.addTransceiver(this.sound, { direction: "sendonly" });
      // A receive-only audio section asks the server for the controller's microphone.
      const talk = this.pc.addTransceiver("audio", { direction: "recvonly" });
      talk.onTrack.subscribe((track) =>
        track.onReceiveRtp.subscribe((rtp) => events.onTalk(rtp.header.sequenceNumber, rtp.header.timestamp, rtp.header.marker, rtp.payload)),
      );
    }
    this.input = this.pc.createDataChannel("input");
    this.input.stateChanged.subscribe((state) => {
      if (state === "open") events.onInputOpen();
    });
    this.input.onMessage.subscribe((data) => events.onInput(data.toString()));
    this.pc.connectionStateChange.subscribe((state) => events.onConnectionState(state));
  }

  /** The offer, with every candidate gathered. */
  async offer(): Promise<string> {
    await whileOpen(this.pc, async () => this.pc.setLocalDescription(await this.pc.createOffer()));
    keepEarlyDtls(this.pc);
    return this.pc.localDescription!.sdp;
  }

  answer(sdp: string): Promise<void> {
    return whileOpen(this.pc, () => this.pc.setRemoteDescription({ type: "answer", sdp })).then(() => undefined);
  }

  addCandidate(candidate: IceCandidate): Promise<void> {
    return this.pc.addIceCandidate(candidate);
  }

  writeVideo(rtp: Buffer): void {
    this.video.writeRtp(rtp);
  }

  writeAudio(rtp: Buffer): void {
    this.sound?.writeRtp(rtp);
  }

  /** True while the `input` channel is open. */
  get inputOpen(): boolean {
    return this.input.readyState === "open";
  }

  /** Sends on `input` when it is open; false otherwise. */
  sendInput(text: string): boolean {
    if (this.input.readyState !== "open") return false;
    this.input.send(text);
    return true;
  }

  close(): void {
    this.pc.close().catch(() => undefined);
  }
}

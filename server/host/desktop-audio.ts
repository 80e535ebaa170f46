import { DESKTOP_AUDIO_ELEMENTS, desktopAudioDescription, desktopTalkbackDescription } from "../../pipelines/desktop.js";
import { GstPipeline } from "../../pipelines/pipeline.js";
import type { DownSink } from "../relay/down-track.js";
import { writeRtp } from "../relay/rtp.js";

/** What a DesktopAudio hands on. The sound server is PulseAudio's default (or PipeWire's pulse server): `PULSE_SERVER` picks another. */
export interface DesktopAudioOptions {
  /** One Opus RTP packet of the desktop's sound. */
  onRtp(packet: Buffer): void;
  /** A pipeline stopped (no sound server, a device gone); the desktop's audio is closed. */
  onError(message: string): void;
}

const PAYLOAD_TYPE = 111;
const TALK_SSRC = 0x7a1cba5e;

/**
 * A desktop's sound both ways through PulseAudio: the capture (the default
 * sink's monitor: what the desktop plays) as Opus RTP, and a player for the
 * controller's talk-back, started with its first packet.
 */
export class DesktopAudio {
  private readonly capture: GstPipeline;
  private player: GstPipeline | undefined;
  private closed = false;

  /** Where the relay delivers the talk-back (a DownTrack's sink). */
  readonly talkSink: DownSink = {
    send: (p, seq, ts) => this.playPacket(seq, ts, p.marker, p.payload),
  };

  constructor(private readonly o: DesktopAudioOptions) {
    this.capture = new GstPipeline(desktopAudioDescription({ payloadType: PAYLOAD_TYPE }), {
      kind: "desktop_audio",
      onError: (message) => this.fail(`desktop audio: ${message}`),
    });
  }

  start(): void {
    this.capture.start();
    this.capture.pullFrom(DESKTOP_AUDIO_ELEMENTS.rtpSink, (buf) => this.o.onRtp(buf));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.capture.close();
    this.player?.close();
  }

  /** One talk-back Opus packet (from the relay, or from the agent's peer connection), played on the desktop. */
  playPacket(sequenceNumber: number, timestamp: number, marker: boolean, payload: Buffer): void {
    this.play(writeRtp(PAYLOAD_TYPE, sequenceNumber, timestamp, TALK_SSRC, marker, payload));
  }

  private play(rtp: Buffer): void {
    if (this.closed) return;
    if (!this.player) {
      this.player = new GstPipeline(desktopTalkbackDescription({ payloadType: PAYLOAD_TYPE }), {
        kind: "desktop_audio",
        onError: (message) => this.fail(`talk-back: ${message}`),
      });
      this.player.start();
    }
    this.player.pushTo(DESKTOP_AUDIO_ELEMENTS.rtpSrc, rtp);
  }

  private fail(message: string): void {
    if (this.closed) return;
    this.close();
    this.o.onError(message);
  }
}

/**
 * A recorded RTP stream sent again in a loop, for a publisher that costs a
 * bench's process almost nothing while it measures: its encoder runs only
 * while the recording is made. The packets are the encoder's own (same
 * sizes, same timing); each loop continues the sequence numbers and
 * timestamps of the one before, so what the receiver sees is one stream.
 * The recording starts at a keyframe, so `restart()` answers a keyframe
 * request: the next packets sent are the recording's first.
 */

import { isKeyframeStart } from "../../server/relay/keyframe.js";
import { parseRtp, seqAdd, tsAdd } from "../../server/relay/rtp.js";

/** How long a replaying device's encoder runs before its recording starts, ms: its rate control's first seconds. */
const REPLAY_SETTLE_MS = 2000;

/** One recorded packet: its bytes and when it came, ms after the recording's first. */
interface Recorded {
  readonly data: Buffer;
  readonly at: number;
}

/** The RTP header's sequence number and timestamp, read from `data`. */
const seqOf = (data: Buffer): number => data.readUInt16BE(2);
const tsOf = (data: Buffer): number => data.readUInt32BE(4);

/** How often the loop looks for packets due, ms. */
const TICK_MS = 5;

/** Packets of one RTP stream, recorded as they came. */
export class RtpRecording {
  private readonly packets: Recorded[] = [];
  private startedAt: number | undefined;

  /** Records a copy of one RTP packet that came at `now` (performance.now() ms). */
  add(data: Buffer, now: number): void {
    if (data.length < 12) return;
    this.startedAt ??= now;
    this.packets.push({ data: Buffer.from(data), at: now - this.startedAt });
  }

  get count(): number {
    return this.packets.length;
  }

  /**
   * The timestamp step between frames (the most common rise between
   * consecutive timestamps that differ) and the time it stands for, ms: what
   * separates the recording's last frame from the next loop's first.
   */
  frameStep(): { ticks: number; ms: number } {
    const rises = new Map<number, number>();
    const times: number[] = [];
    for (let i = 1; i < this.packets.length; i++) {
      const rise = (tsOf(this.packets[i].data) - tsOf(this.packets[i - 1].data)) >>> 0;
      if (rise === 0 || rise > 0x7fffffff) continue;
      rises.set(rise, (rises.get(rise) ?? 0) + 1);
      times.push(this.packets[i].at - this.packets[i - 1].at);
    }
    if (rises.size === 0) return { ticks: 1, ms: 0 };
    const ticks = [...rises].sort((a, b) => b[1] - a[1])[0][0];
    times.sort((a, b) => a - b);
    return { ticks, ms: times[Math.floor(times.length / 2)] };
  }

  /** The packets in order. */
  get all(): readonly Recorded[] {
    return this.packets;
  }
}

/** What a replaying device records while its encoder runs, once `recording` is set: video from a keyframe on, and audio. */
export class RtpRecorder {
  readonly videoPackets = new RtpRecording();
  readonly audioPackets = new RtpRecording();
  recording = false;

  /** `mimeType`: the video's, e.g. "video/vp8". */
  constructor(private readonly mimeType: string) {}

  video(buf: Buffer): void {
    if (!this.recording) return;
    if (this.videoPackets.count > 0 || isKeyframeStart(this.mimeType, parseRtp(buf)?.payload ?? Buffer.alloc(0))) this.videoPackets.add(buf, performance.now());
  }

  audio(buf: Buffer): void {
    if (this.recording) this.audioPackets.add(buf, performance.now());
  }
}

/**
 * Sends a recording in a loop through `send`, with the recording's own
 * timing, the sequence numbers and timestamps rewritten so they run on
 * across loops and restarts. The packets are written in place (only the
 * header's sequence number and timestamp) and handed over as they are:
 * `send` must be done with a packet's bytes before it is sent again a loop
 * later (werift's writeRtp parses them at once). The replay owns the
 * recording's packets from then on.
 */
export class RtpReplay {
  private readonly packets: readonly Recorded[];
  private readonly step: { ticks: number; ms: number };
  /** Each packet's sequence number and timestamp as recorded, less the first packet's (the bytes are rewritten as they go). */
  private readonly seqs: Uint16Array;
  private readonly tss: Uint32Array;
  /** The next packet to send, and when the current loop began (performance.now() ms; none before start). */
  private next = 0;
  private loopStartedAt = Infinity;
  /** The current loop's first sequence number and timestamp. */
  private seqBase = 0;
  private tsBase = 0;
  /** The last sequence number and timestamp sent, once one was. */
  private lastSeq: number | undefined;
  private lastTs = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Packets sent and loops begun (restarts included). */
  sent = 0;
  loops = 0;

  constructor(
    recording: RtpRecording,
    private readonly send: (packet: Buffer) => void,
  ) {
    if (recording.count === 0) throw new Error("nothing was recorded");
    this.packets = recording.all;
    this.step = recording.frameStep();
    const first = this.packets[0].data;
    this.seqs = Uint16Array.from(this.packets, (p) => seqOf(p.data) - seqOf(first));
    this.tss = Uint32Array.from(this.packets, (p) => tsOf(p.data) - tsOf(first));
    this.seqBase = seqOf(first);
    this.tsBase = tsOf(first);
  }

  /** Starts the loop at the recording's first packet. */
  start(now = performance.now()): void {
    this.stop();
    this.begin(now);
    this.timer = setInterval(() => this.tick(performance.now()), TICK_MS);
  }

  /** From the next packet on, the recording's start again (its keyframe), one frame after the last packet sent. */
  restart(now = performance.now()): void {
    this.begin(now);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Sends every packet due by `now`; a loop that ends begins the next. Exposed for tests; the timer calls it. */
  tick(now: number): void {
    // Bounded: at most two loops' worth per tick, however late the timer ran.
    for (let budget = 2 * this.packets.length; budget > 0; budget--) {
      if (this.next === this.packets.length) {
        if (now < this.loopStartedAt + this.packets[this.packets.length - 1].at + this.step.ms) return;
        this.begin(this.loopStartedAt + this.packets[this.packets.length - 1].at + this.step.ms);
      }
      const i = this.next;
      const p = this.packets[i];
      if (this.loopStartedAt + p.at > now) return;
      this.next++;
      const seq = seqAdd(this.seqs[i], this.seqBase);
      const ts = tsAdd(this.tss[i], this.tsBase);
      p.data.writeUInt16BE(seq, 2);
      p.data.writeUInt32BE(ts, 4);
      this.lastSeq = seq;
      this.lastTs = ts;
      this.sent++;
      this.send(p.data);
    }
  }

  /** A loop begins at `at`: the recording's first packet next, numbered on from the last one sent. */
  private begin(at: number): void {
    this.next = 0;
    this.loopStartedAt = at;
    this.loops++;
    if (this.lastSeq === undefined) return;
    this.seqBase = seqAdd(this.lastSeq, 1);
    this.tsBase = tsAdd(this.lastTs, this.step.ticks);
  }
}

/**
 * Lets an encoder settle, records `ms` of what it makes from a keyframe on
 * (`recorder` must be fed by the encoder's output meanwhile), stops it, and
 * starts looping the recording: video, and audio when there was any.
 */
export async function recordThenLoop(
  recorder: RtpRecorder,
  ms: number,
  encoder: { forceKeyframe(): void; stop(): void },
  send: { video: (packet: Buffer) => void; audio: (packet: Buffer) => void },
): Promise<RtpReplay[]> {
  await new Promise((resolve) => setTimeout(resolve, REPLAY_SETTLE_MS));
  recorder.recording = true;
  encoder.forceKeyframe();
  await new Promise((resolve) => setTimeout(resolve, ms));
  encoder.stop();
  const replays = [new RtpReplay(recorder.videoPackets, send.video)];
  if (recorder.audioPackets.count > 0) replays.push(new RtpReplay(recorder.audioPackets, send.audio));
  const now = performance.now();
  for (const r of replays) r.start(now);
  return replays;
}

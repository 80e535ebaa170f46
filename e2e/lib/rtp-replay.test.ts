/** The bench publisher's replay loop (rtp-replay.ts), driven by hand: numbering and timing across loops and restarts. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { RtpRecorder, RtpRecording, RtpReplay } from "./rtp-replay.js";

/** A 12-byte RTP header (plus a byte of payload) with these numbers. */
function rtp(seq: number, ts: number): Buffer {
  const b = Buffer.alloc(13);
  b[0] = 0x80;
  b[1] = 96;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE(ts >>> 0, 4);
  b[12] = seq & 0xff;
  return b;
}

/** Three frames 3000 ticks (33 ms) apart, two packets each, numbered from `seq` and `ts`. */
function recording(seq: number, ts: number): RtpRecording {
  const r = new RtpRecording();
  for (let f = 0; f < 3; f++) for (let p = 0; p < 2; p++) r.add(rtp(seq + 2 * f + p, ts + 3000 * f), 1000 + 33 * f);
  return r;
}

const numbers = (sent: Buffer[]) => sent.map((b) => [b.readUInt16BE(2), b.readUInt32BE(4)]);

test("a recording knows its frame step, in ticks and ms", () => {
  assert.deepEqual(recording(10, 0).frameStep(), { ticks: 3000, ms: 33 });
});

test("the loop sends with the recording's timing, and numbers on across loops and a wrap", () => {
  const sent: Buffer[] = [];
  const replay = new RtpReplay(recording(0xfffc, 0xffffe000), (b) => sent.push(Buffer.from(b)));
  replay.tick(0);
  assert.deepEqual(sent, [], "nothing before start");
  replay.restart(0);
  replay.tick(0);
  assert.deepEqual(numbers(sent), [
    [0xfffc, 0xffffe000],
    [0xfffd, 0xffffe000],
  ]);
  replay.tick(65);
  assert.equal(sent.length, 4, "the second frame at 33 ms, not the third at 66");
  replay.tick(66);
  assert.equal(sent.length, 6);
  replay.tick(98);
  assert.equal(sent.length, 6, "the next loop one frame step after the last frame");
  replay.tick(99);
  assert.deepEqual(numbers(sent.slice(6)), [
    [2, (0xffffe000 + 9000) >>> 0],
    [3, (0xffffe000 + 9000) >>> 0],
  ]);
  assert.equal(replay.loops, 2);
  // The payload is the recording's, the same bytes each loop.
  assert.equal(sent[6][12], sent[0][12]);
});

test("a restart sends the recording's first frame next, numbered on from the last packet sent", () => {
  const sent: Buffer[] = [];
  const replay = new RtpReplay(recording(100, 5000), (b) => sent.push(Buffer.from(b)));
  replay.restart(0);
  replay.tick(40);
  assert.equal(sent.length, 4);
  replay.restart(50);
  replay.tick(50);
  assert.deepEqual(numbers(sent.slice(4)), [
    [104, 11000],
    [105, 11000],
  ]);
  assert.equal(sent[4][12], 100 & 0xff, "the recording's first packet");
});

test("a late timer sends what is due, at most two loops' worth", () => {
  const sent: Buffer[] = [];
  const replay = new RtpReplay(recording(0, 0), (b) => sent.push(Buffer.from(b)));
  replay.restart(0);
  replay.tick(10_000);
  assert.equal(sent.length, 12);
  const seqs = sent.map((b) => b.readUInt16BE(2));
  assert.deepEqual(seqs, [...seqs.keys()], "consecutive sequence numbers");
});

test("an empty recording is refused", () => {
  assert.throws(() => new RtpReplay(new RtpRecording(), () => undefined), /nothing was recorded/);
});

test("the recorder keeps nothing until told, then video from a keyframe's start on, and audio as it comes", () => {
  // VP8 payloads (RFC 7741): a descriptor byte (S bit, partition 0), then the frame's first byte (bit 0 clear: a keyframe).
  const vp8 = (seq: number, keyframe: boolean, start = true) =>
    Buffer.concat([rtp(seq, 0).subarray(0, 12), Buffer.from([start ? 0x10 : 0x00, keyframe ? 0x00 : 0x01])]);
  const r = new RtpRecorder("video/vp8");
  r.video(vp8(1, true));
  r.audio(rtp(1, 0));
  assert.equal(r.videoPackets.count + r.audioPackets.count, 0, "not recording yet");
  r.recording = true;
  r.video(vp8(2, false));
  r.video(vp8(3, true, false));
  assert.equal(r.videoPackets.count, 0, "a delta frame, and a packet that does not start a frame, are not a start");
  r.video(vp8(4, true));
  r.video(vp8(5, false));
  r.audio(rtp(6, 0));
  assert.deepEqual(
    r.videoPackets.all.map((p) => p.data.readUInt16BE(2)),
    [4, 5],
  );
  assert.equal(r.audioPackets.count, 1);
});

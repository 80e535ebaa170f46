import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DownTrack, type DownSink } from "./down-track.js";
import { frame } from "./layer-fixtures.js";
import type { FanoutLane, LaneMember } from "./lane.js";
import { shiftIds, type IdSpots } from "./picture-id-munger.js";
import { locateVp8Ids } from "./vp8.js";
import { seqAdd, tsAdd } from "./rtp.js";
import { UpTrack, type RelayPacket, type TrackCodec } from "./up-track.js";

const VP8: TrackCodec = { kind: "video", mimeType: "video/vp8", clockRate: 90000 };
const OPUS: TrackCodec = { kind: "audio", mimeType: "audio/opus", clockRate: 48000, channels: 2 };

type Sent = { seq: number; ts: number; by: "lane" | "own"; pid?: number };

/** A VP8 payload's picture ID, or undefined. */
function pictureId(payload: Buffer): number | undefined {
  const s: IdSpots = { pidBits: 0, pidAt: 0, pid: 0, tl0At: -1, tl0: 0 };
  return locateVp8Ids(payload, s) ? s.pid : undefined;
}

/** A lane in TypeScript doing what the native one does for each member: the numbers offset, sent. */
class TestLane implements FanoutLane {
  readonly members: Array<{ out: Sent[]; seqOffset: number; tsOffset: number; pictureId: number; tl0: number; member: LaneMember; got: number }> = [];
  last: RelayPacket | undefined;
  sends = 0;
  get size(): number {
    return this.members.length;
  }
  send(packet: RelayPacket): void {
    this.sends++;
    this.last = packet;
    for (const m of this.members) {
      const pid = pictureId(shiftIds(packet.payload, locateVp8Ids, m.pictureId, m.tl0));
      m.out.push({ seq: seqAdd(packet.sequenceNumber, m.seqOffset), ts: tsAdd(packet.timestamp, m.tsOffset), by: "lane", pid });
      m.got++;
      m.member.sent(1, packet.payload.length);
    }
  }
  clear(): void {
    for (const m of [...this.members]) this.remove(m.out);
  }
  remove(out: Sent[]): void {
    const i = this.members.findIndex((m) => m.out === out);
    if (i < 0) return;
    const [m] = this.members.splice(i, 1);
    m.member.left(m.got > 0 ? this.last : undefined);
  }
}

/** A sink that joins `lanes` (one made when the track has none) while `open` says so. */
function laneSink(out: Sent[], made: TestLane[], open = () => true): DownSink {
  return {
    send: (p, seq, ts) => out.push({ seq, ts, by: "own", pid: pictureId(p.payload) }),
    sendPadding: () => true,
    joinLane(lane, _codec, offsets, member) {
      if (!open()) return undefined;
      const joined = (lane as TestLane | undefined) ?? new TestLane();
      if (lane === undefined) made.push(joined);
      joined.members.push({ out, seqOffset: offsets.seq, tsOffset: offsets.ts, pictureId: offsets.pictureId, tl0: offsets.tl0, member, got: 0 });
      return joined;
    },
    leaveLane() {
      for (const l of made) l.remove(out);
    },
  };
}

/** Pushes VP8 frames (one packet each, a keyframe first) from `seq` on. */
function pushFrames(up: UpTrack, from: number, count: number, opts: { tid?: (i: number) => number } = {}): void {
  for (let i = 0; i < count; i++) {
    const n = from + i;
    up.push(n & 0xffff, n * 3000, true, frame(n & 0x7fff, opts.tid?.(n) ?? 0, 200, n === from ? { width: 320, height: 180 } : undefined));
  }
}

/** Numbers that follow on one from the other: each sequence number one more than the last. */
function assertContinuous(out: Sent[]): void {
  for (let i = 1; i < out.length; i++)
    assert.equal(out[i].seq, seqAdd(out[i - 1].seq, 1), `packet ${i} follows ${i - 1}: ${JSON.stringify(out.slice(Math.max(0, i - 2), i + 1))}`);
}

describe("a DownTrack in its source's lane", () => {
  test("joins once steady, is sent to by the lane alone, and takes its numbers up when it leaves", () => {
    const up = new UpTrack({ id: "v", codec: VP8, requestKeyframe: () => {} });
    const out: Sent[] = [];
    const made: TestLane[] = [];
    const down = new DownTrack(VP8, laneSink(out, made));
    down.setSource(up);
    pushFrames(up, 65530, 3);
    assert.equal(made.length, 1, "the first steady packet made the lane");
    assert.equal(up.lane, made[0]);
    assert.deepEqual(
      out.map((o) => o.by),
      ["own", "lane", "lane"],
      "its own way for the keyframe, then the lane's",
    );
    pushFrames(up, 65533, 6); // across the wrap
    assert.equal(down.stats.packetsOut, 9, "the lane's packets are counted in its stats");
    down.setTemporal(1);
    assert.equal(made[0].size, 0, "a temporal limit takes it out");
    pushFrames(up, 65539, 4, { tid: (n) => (n % 2 === 0 ? 0 : 2) });
    assertContinuous(out);
    assert.ok(out.slice(-2).every((o) => o.by === "own"));
    up.close();
  });

  test("a late packet takes every member out and goes to each its own way, numbered as before", () => {
    const up = new UpTrack({ id: "a", codec: OPUS, requestKeyframe: () => {} });
    const made: TestLane[] = [];
    const outs = [[], []] as Sent[][];
    const downs = outs.map((out) => new DownTrack(OPUS, laneSink(out, made)));
    for (const d of downs) d.setSource(up);
    const payload = Buffer.alloc(80);
    for (const n of [10, 11, 13]) up.push(n, n * 960, false, payload);
    assert.equal(made[0].size, 2);
    up.push(12, 12 * 960, false, payload); // late: 12 came after 13
    assert.equal(made[0].size, 0, "every member left");
    for (const out of outs) {
      assert.deepEqual(
        out.map((o) => o.seq - out[0].seq),
        [0, 1, 3, 2],
        "the late one keeps its place among the numbers",
      );
      assert.equal(out[3].by, "own");
    }
    up.push(14, 14 * 960, false, payload);
    up.push(15, 15 * 960, false, payload);
    assert.equal(made[0].size, 2, "back in after a packet of their own");
    assert.deepEqual(
      outs[0].slice(4).map((o) => [o.seq - outs[0][0].seq, o.by]),
      [
        [4, "own"],
        [5, "lane"],
      ],
    );
    up.close();
    assert.equal(made[0].size, 0, "a closed source empties its lane");
  });

  test("a hold, a probe, a layer switch or closing takes it out first; a sink that refuses keeps it out", () => {
    const up = new UpTrack({ id: "v", codec: VP8, requestKeyframe: () => {} });
    const other = new UpTrack({ id: "w", codec: VP8, requestKeyframe: () => {} });
    up.setLayers([up, other]);
    other.setLayers([up, other]);
    const made: TestLane[] = [];
    const out: Sent[] = [];
    let open = true;
    const down = new DownTrack(
      VP8,
      laneSink(out, made, () => open),
    );
    down.setSource(up);
    pushFrames(up, 1, 2);
    const lane = made[0];
    for (const [what, act] of [
      ["probe", () => down.probe(100_000, 1000)],
      ["hold", () => down.hold()],
      ["switchLayer", () => down.switchLayer(other)],
    ] as const) {
      assert.equal(lane.size, 1, `in before ${what}`);
      act();
      assert.equal(lane.size, 0, `${what} took it out`);
      if (what === "probe") down.stopProbe();
      if (what === "hold") down.release();
      if (what === "switchLayer") down.switchLayer(up);
      pushFrames(up, out.length + 1, 2);
    }
    open = false;
    down.close();
    assert.equal(lane.size, 0);
    const before = out.length;
    pushFrames(up, 100, 3);
    assert.equal(out.length, before, "closed: nothing sent");
    const refused = new DownTrack(
      VP8,
      laneSink([], made, () => false),
    );
    refused.setSource(up);
    pushFrames(up, 200, 3);
    assert.equal(lane.size, 0, "a sink that cannot join stays out");
    assert.equal(refused.stats.packetsOut, 3);
    up.close();
    other.close();
  });

  test("a viewer whose picture IDs are rewritten (after a source switch) joins with their offsets, and they run on when it leaves", () => {
    const up = new UpTrack({ id: "v", codec: VP8, requestKeyframe: () => {} });
    const other = new UpTrack({ id: "w", codec: VP8, requestKeyframe: () => {} });
    const made: TestLane[] = [];
    const out: Sent[] = [];
    const down = new DownTrack(VP8, laneSink(out, made));
    down.setSource(other);
    pushFrames(other, 1, 3);
    down.setSource(up);
    pushFrames(up, 500, 4); // picture IDs 500.. become 4..
    assert.equal(up.lane, made[1], "in the new source's lane");
    assert.equal(made[1].members[0].pictureId, (4 - 500) & 0x7fff, "with the picture ID offset its munger has");
    down.setTemporal(2);
    pushFrames(up, 504, 3);
    assertContinuous(out);
    assert.deepEqual(
      out.map((o) => o.pid),
      Array.from({ length: out.length }, (_, i) => i + 1),
      "picture IDs run on by one, whichever way each packet went",
    );
    assert.deepEqual(
      out.map((o) => o.by),
      ["own", "lane", "lane", "own", "lane", "lane", "lane", "own", "own", "own"],
    );
    up.close();
    other.close();
  });
});

import { idLocator } from "../relay/id-locators.js";
import type { FanoutLane, LaneMember, LaneOffsets } from "../relay/lane.js";
import type { RelayObserver } from "../relay/observer.js";
import { shiftIds, type IdSpots, type LocateIds } from "../relay/picture-id-munger.js";
import type { RelayPacket, TrackCodec } from "../relay/up-track.js";
import {
  LANE_DATAGRAM_BYTES,
  LANE_LAST_SEQ,
  LANE_PACKETS,
  LANE_PAYLOAD_BYTES,
  LANE_ROC,
  LANE_ROC_STARTED,
  LANE_STATE,
  LANE_UNSENT_SEQ,
  LANE_UNSENT_SIZE,
  nativeFastPath,
  type NativeFastPath,
} from "./native.js";
import { absSendTime } from "./rtp-header.js";
import type { SsrcState } from "./sender-internals.js";
import { PayloadRing, type SentPackets } from "./sent-packets.js";
import { TICK_MS } from "./ticks.js";

/** What a member's sender (fast-sender.ts) does for the lane. */
export interface LaneSender {
  /**
   * Takes up what the lane sent for it since the last call (`state`: counts,
   * rollover counter), the last packet at `at` with RTP timestamp
   * `timestamp`; then checks that it can stay and has its tick run (it
   * leaves when it cannot).
   */
  laneSynced(state: Float64Array, at: number, timestamp: number): void;
  /** Checks that it can stay (the same pair, open, the same playout delay) and queues its tick; leaves the lane when it cannot stay. */
  laneTick(now: number): void;
  /** It is out of the lane, its counts taken up. */
  laneLeft(): void;
  /**
   * Its datagram for `packet` did not go: left in its slot (`size` bytes)
   * when the socket was full or had gone, or not written at all when it did
   * not fit a slot (`size` 0). Sends it its own way; it has left the lane.
   */
  laneUnsent(packet: RelayPacket, seq: number, timestamp: number, size: number): void;
}

/** One member of a lane. */
export class LaneEntry {
  /** Its index in the native fan-out, -1 once out. */
  index = -1;
  /** What native/fanout.c keeps for it (LANE_* fields). */
  readonly state = new Float64Array(LANE_STATE);
  /** The lane's count of packets sent when it joined. */
  joinedAt = 0;

  constructor(
    readonly sender: LaneSender,
    readonly member: LaneMember,
    readonly sent: SentPackets,
    readonly seqOffset: number,
    readonly tsOffset: number,
    /** Added to each payload's picture ID and TL0PICIDX. */
    readonly pictureId: number,
    readonly tl0: number,
  ) {}
}

/**
 * The native fan-out behind a track's lane (relay/lane.ts): one call per
 * packet writes, protects and sends it for every member (native/fanout.c),
 * where the DownTrack → sink → FastSender → Egress path took a dozen
 * objects and a native call per viewer. A member's picture ID offsets
 * (VP8, VP9: after a layer switch) are added natively too, the payload's
 * ID places found once per packet here. What a packet leaves behind for
 * each member is written natively into its sender's own arrays (the
 * records NACKs are answered from, its history slot, its rollover
 * counter); the payload is kept once, in the lane's ring, for all of them.
 * The rest (werift's counts, the DownTrack's stats, the sender reports'
 * timestamps) is handed over every TICK_MS, when each member's tick runs
 * as it would on its own path, and when a member leaves.
 */
export class NativeLane implements FanoutLane {
  private readonly native: NativeFastPath;
  private readonly fanout: object;
  private readonly entries: LaneEntry[] = [];
  private elapsed = new Float64Array(16);
  /** Packets sent, the last of them and when. */
  private sends = 0;
  private last: RelayPacket | undefined;
  private lastAt = 0;
  private syncedAt = -Infinity;
  private readonly kind: "video" | "audio";
  /** Where the codec's payloads carry their picture IDs, and where the packet in hand has them. */
  private readonly locate: LocateIds | undefined;
  private readonly spots: IdSpots = { pidBits: 0, pidAt: 0, pid: 0, tl0At: -1, tl0: 0 };
  /** The payloads its members' records point to (sent-packets.ts). */
  private readonly ring: PayloadRing;
  /** The id the next lane's ring gets (records name rings by 7 bits). */
  private static nextRing = 0;

  constructor(
    codec: TrackCodec,
    private readonly observer: RelayObserver,
  ) {
    if (nativeFastPath === undefined) throw new Error("the native fan-out is not built");
    this.native = nativeFastPath;
    this.ring = new PayloadRing(NativeLane.nextRing);
    NativeLane.nextRing = (NativeLane.nextRing + 1) & 0x7f;
    this.fanout = this.native.newFanout(this.ring.id);
    this.kind = codec.kind;
    this.locate = idLocator(codec.mimeType);
  }

  get size(): number {
    return this.entries.length;
  }

  /**
   * Adds a member: `route` its sender's native route, `sent` and `history`
   * its SentPackets and SentDatagrams' entries, the offsets its DownTrack
   * adds, the header bits its records carry besides the marker, and the
   * rollover state its SSRC is at.
   */
  add(
    sender: LaneSender,
    member: LaneMember,
    route: object,
    sent: SentPackets,
    history: Int32Array,
    offsets: LaneOffsets,
    bits: number,
    roc: SsrcState,
  ): LaneEntry {
    const e = new LaneEntry(sender, member, sent, offsets.seq & 0xffff, offsets.ts >>> 0, offsets.pictureId & 0x7fff, offsets.tl0 & 0xff);
    const s = e.state;
    s[LANE_ROC] = roc.rolloverCounter;
    s[LANE_LAST_SEQ] = roc.lastSequenceNumber ?? 0;
    s[LANE_ROC_STARTED] = roc.rolloverHasProcessed === true ? 1 : 0;
    s[LANE_UNSENT_SEQ] = -1;
    sent.useRing(this.ring);
    e.index = this.native.fanoutAdd(this.fanout, route, s, sent.records, history, e.seqOffset, e.tsOffset, bits, e.pictureId, e.tl0);
    e.joinedAt = this.sends;
    this.entries.push(e);
    if (this.elapsed.length < this.entries.length) this.elapsed = new Float64Array(2 * this.entries.length);
    return e;
  }

  /** Takes `e` out: its counts handed over, its DownTrack told the last packet it got. */
  remove(e: LaneEntry): void {
    const entries = this.entries;
    if (e.index < 0 || entries[e.index] !== e) return;
    const moved = this.native.fanoutRemove(this.fanout, e.index);
    const tail = entries.pop() as LaneEntry;
    if (moved >= 0) {
      entries[e.index] = tail;
      tail.index = e.index;
    }
    e.index = -1;
    this.handOver(e);
    e.sender.laneLeft();
    e.member.left(this.sends > e.joinedAt ? this.last : undefined);
  }

  send(packet: RelayPacket): void {
    const entries = this.entries;
    const n = entries.length;
    const now = performance.now();
    const elapsed = this.elapsed;
    const payload = packet.payload;
    const ids = this.spots;
    const located = this.locate !== undefined && this.locate(payload, ids);
    const unsent = this.native.fanoutSend(
      this.fanout,
      payload,
      packet.sequenceNumber,
      packet.timestamp >>> 0,
      absSendTime(now),
      packet.marker,
      elapsed,
      located ? ids.pidAt : -1,
      located ? ids.pidBits : 0,
      located ? ids.pid : 0,
      located ? ids.tl0At : -1,
      located ? ids.tl0 : 0,
    );
    this.sends++;
    this.last = packet;
    this.lastAt = now;
    this.ring.put(packet.sequenceNumber, payload);
    this.observer.fannedOut(this.kind, payload.length, n, now - packet.receivedAt, elapsed);
    if (unsent > 0) this.sendUnsent(packet);
    if (now - this.syncedAt >= TICK_MS) {
      this.syncedAt = now;
      for (const e of entries.slice()) {
        this.handOver(e);
        e.sender.laneTick(now);
      }
    }
  }

  clear(): void {
    while (this.entries.length > 0) this.remove(this.entries[this.entries.length - 1]);
  }

  /** Hands what the lane sent for `e` since the last time to its sender and DownTrack. */
  handOver(e: LaneEntry): void {
    const s = e.state;
    const packets = s[LANE_PACKETS];
    const timestamp = this.last === undefined ? 0 : (this.last.timestamp + e.tsOffset) >>> 0;
    e.sender.laneSynced(s, this.lastAt, timestamp);
    if (packets > 0) e.member.sent(packets, s[LANE_PAYLOAD_BYTES]);
    s[LANE_PACKETS] = s[LANE_PAYLOAD_BYTES] = s[LANE_DATAGRAM_BYTES] = 0;
  }

  /** The members whose datagram for `packet` did not go leave, and send it their own way. */
  private sendUnsent(packet: RelayPacket): void {
    for (const e of this.entries.slice()) {
      const s = e.state;
      const seq = s[LANE_UNSENT_SEQ];
      if (seq < 0) continue;
      const size = s[LANE_UNSENT_SIZE];
      s[LANE_UNSENT_SEQ] = -1;
      this.remove(e);
      // Not written (too large for a slot): its sender's own path sends it as its DownTrack would have, and counts it; its DownTrack's stats here.
      let own = packet;
      if (size === 0) {
        e.member.sent(1, packet.payload.length);
        const payload = this.locate === undefined ? packet.payload : shiftIds(packet.payload, this.locate, e.pictureId, e.tl0);
        if (payload !== packet.payload) own = { ...packet, payload };
      }
      e.sender.laneUnsent(own, seq, (packet.timestamp + e.tsOffset) >>> 0, size);
    }
  }
}

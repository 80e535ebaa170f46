import type { RTCDataChannel } from "werift";

/**
 * The most a data channel may hold that its peer has not acknowledged,
 * bytes (ChannelSender.unacked). A peer that leaves more there does not
 * read its channel, or its link cannot carry what it is sent, and every
 * message more would only grow the server's memory. 64 of the largest
 * messages either way (MAX_DEVICE_MESSAGE_BYTES, MAX_LINE_BYTES), as much as
 * a signaling socket may leave unread (MAX_UNREAD_BYTES).
 */
export const MAX_CHANNEL_UNSENT_BYTES = 4 * 1024 * 1024;

/**
 * Above this many bytes unacknowledged on a viewer's `input` channel, its
 * latest-wins messages (state, resolution, cursor) wait and only the latest
 * of each goes once the backlog drains (Subscription): a device that sends
 * them faster than the viewer's link carries them does not build a queue
 * (which would end in MAX_CHANNEL_UNSENT_BYTES and a dropped viewer).
 */
export const CHANNEL_BACKLOG_BYTES = 256 * 1024;

/** How often a sender waiting for its backlog to drain looks again, ms. */
const DRAIN_CHECK_MS = 50;

/** What whenBelow does when the backlog has not come down in time. */
export interface DrainDeadline {
  ms: number;
  onMissed: () => void;
}

/** What send did: sent (queued), not open, or nothing because the channel is stuck (MAX_CHANNEL_UNSENT_BYTES unacknowledged). */
export type ChannelSend = "sent" | "closed" | "stuck";

/** The two fields of werift's SCTP association that ChannelSender reads: the next TSN it will use, and the peer's cumulative ack. */
interface Association {
  localTsn: number;
  lastSackedTsn: number;
}

/** `a` at or before `b` in TSN order (RFC 4960's serial arithmetic on 32 bits). */
function tsnNotAfter(a: number, b: number): boolean {
  return (b - a) >>> 0 < 0x80000000;
}

/**
 * Sends text on one data channel and keeps count of what the peer has not
 * yet acknowledged. werift's own `bufferedAmount` comes down only when its
 * association's whole outbound queue has drained: under a steady stream it
 * counts every message since the queue was last empty, and a peer that
 * reads well but a little slower than a burst came would read as stuck.
 * Here each message is noted with the last TSN werift gave it (send cuts a
 * message into chunks at once when the association is up) and forgotten
 * once the peer's cumulative ack covers it. Reads werift's association's
 * `localTsn` and `lastSackedTsn`; without them (another werift) it falls
 * back to `bufferedAmount`.
 */
export class ChannelSender {
  /** The association the noted messages went on (werift makes a new one for a new DTLS transport). */
  private noted: Association | undefined;
  /** Sent messages not yet acknowledged: their last TSN and size, oldest first from `head`. */
  private tsns: number[] = [];
  private sizes: number[] = [];
  private head = 0;
  private bytes = 0;
  /**
   * A message went out without a TSN of its own (werift queues messages
   * while its association is not established, and later sends them one
   * queue-drain at a time): until werift's bufferedAmount is back to 0, it
   * counts too (the larger of the two).
   */
  private untracked = false;
  private drainTimer: NodeJS.Timeout | undefined;
  /** The wait for a drain (whenBelow): a later call replaces it but keeps `since`, and the timer that looks. */
  private wait: { bytes: number; fn: () => void; deadline: DrainDeadline | undefined; since: number } | undefined;

  constructor(readonly channel: RTCDataChannel) {}

  /** The channel's association now, when it has the fields this reads; what was noted on another is forgotten. */
  private association(): Association | undefined {
    const a = (this.channel as unknown as { sctp?: { sctp?: Partial<Association> } }).sctp?.sctp;
    if (typeof a?.localTsn !== "number" || typeof a.lastSackedTsn !== "number") return undefined;
    if (a !== this.noted) {
      this.noted = a as Association;
      this.tsns = [];
      this.sizes = [];
      this.head = 0;
      this.bytes = 0;
    }
    return this.noted;
  }

  /** Bytes sent on the channel that the peer has not acknowledged yet. */
  get unacked(): number {
    const a = this.association();
    if (!a) return this.channel.bufferedAmount;
    if (this.untracked && this.channel.bufferedAmount === 0) this.untracked = false;
    while (this.head < this.tsns.length && tsnNotAfter(this.tsns[this.head], a.lastSackedTsn)) {
      this.bytes -= this.sizes[this.head];
      this.head++;
    }
    if (this.head === this.tsns.length) {
      this.tsns = [];
      this.sizes = [];
      this.head = 0;
    } else if (this.head > 1024) {
      this.tsns = this.tsns.slice(this.head);
      this.sizes = this.sizes.slice(this.head);
      this.head = 0;
    }
    return this.untracked ? Math.max(this.bytes, this.channel.bufferedAmount) : this.bytes;
  }

  /** Sends `text` when the channel is open and less than `maxUnacked` bytes wait for the peer. */
  send(text: string, maxUnacked = MAX_CHANNEL_UNSENT_BYTES): ChannelSend {
    if (this.channel.readyState !== "open") return "closed";
    if (this.unacked > maxUnacked) return "stuck";
    const before = this.association()?.localTsn;
    this.channel.send(text);
    const a = this.association();
    if (a && a.localTsn === before) this.untracked = true;
    else if (a) {
      this.tsns.push((a.localTsn - 1) >>> 0);
      const size = Buffer.byteLength(text);
      this.sizes.push(size);
      this.bytes += size;
    }
    return "sent";
  }

  /**
   * Calls `fn` once, when no more than `bytes` wait unacknowledged
   * (replacing any `fn` still waiting). Looks every DRAIN_CHECK_MS until
   * then, or until `close`. With a `deadline`, a wait (however often `fn`
   * was replaced meanwhile) that lasts longer calls `deadline.onMissed`
   * instead, once.
   */
  whenBelow(bytes: number, fn: () => void, deadline?: DrainDeadline): void {
    this.wait = { bytes, fn, deadline, since: this.wait?.since ?? performance.now() };
    if (!this.checkDrain() && this.drainTimer === undefined) this.drainTimer = setInterval(() => this.checkDrain(), DRAIN_CHECK_MS);
  }

  /** Ends the wait when the backlog is down (calling its `fn`) or its deadline has passed; false while it goes on. */
  private checkDrain(): boolean {
    const wait = this.wait;
    if (wait === undefined) return true;
    if (this.unacked > wait.bytes) {
      if (wait.deadline === undefined || performance.now() - wait.since <= wait.deadline.ms) return false;
      this.close();
      wait.deadline.onMissed();
      return true;
    }
    this.close();
    wait.fn();
    return true;
  }

  /** Stops waiting for a drain. */
  close(): void {
    clearInterval(this.drainTimer);
    this.drainTimer = undefined;
    this.wait = undefined;
  }
}

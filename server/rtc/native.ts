import type { Socket } from "node:dgram";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

/**
 * The relay fast path's native part (server/rtc/native/fastpath.c, built by
 * scripts/build.mjs next to this module): SRTP protection with contexts
 * made once per session, a datagram written straight to a UDP socket's
 * descriptor, and both at once for a viewer's packet (header, protection,
 * history slot and sendto in one call). Optional: without it (not built, or TESSERA_NATIVE=0) the
 * TypeScript path does the same work with Node's crypto and dgram.
 */
export interface NativeFastPath {
  /** A session's protection contexts (OpenSSL), freed with the returned handle. */
  newProtector(profile: number, key: Buffer, salt: Buffer, authKey: Buffer | undefined): object;
  /** The same for opening the other direction's packets (unprotect). */
  newUnprotector(profile: number, key: Buffer, salt: Buffer, authKey: Buffer | undefined): object;
  /**
   * Checks an SRTP packet's tag and decrypts it: `out`, the packet minus its
   * tag long, gets the header (its first headerBytes) and the payload. False
   * when the tag does not match.
   */
  unprotect(unprotector: object, packet: Buffer, headerBytes: number, out: Buffer, ssrc: number, seq: number, roc: number): boolean;
  /**
   * Checks an SRTCP packet's tag (the unprotector made from the SRTCP
   * session keys) and decrypts it when its E-flag says so: `out`, the packet
   * minus its trailer long (GCM 20 bytes, AES-CM 14), gets the compound RTCP
   * packet. False when the tag does not match.
   */
  unprotectRtcp(unprotector: object, packet: Buffer, out: Buffer): boolean;
  /** As SrtpProtector.protect: `out` holds the header; payload and tag are written after it. */
  protect(protector: object, out: Buffer, headerBytes: number, payload: Buffer, ssrc: number, seq: number, roc: number): void;
  /**
   * SRTCP protection in place (the protector made from the SRTCP session
   * keys): `out` holds a compound RTCP packet in its first `length` bytes;
   * what follows its first 8 is encrypted under `index` and the trailer
   * (GCM: tag, E|index; AES-CM: E|index, tag) written after it, so `out` is
   * exactly length + the trailer long (GCM 20 bytes, AES-CM 14).
   */
  protectRtcp(protector: object, out: Buffer, length: number, index: number): void;
  /** sendto(2) without waiting: true when the kernel took the datagram, false when the socket is full. */
  sendTo(fd: number, datagram: Buffer, port: number, ipv4: number): boolean;
  /**
   * One viewer sender's route: its protector, the slab its packets are kept
   * in for NACKs (whole slots of slotBytes; a packet's slot is its sequence
   * number modulo the slot count), its header template with where
   * abs-send-time goes (-1: nowhere), its SSRC. Sends nowhere until routeTo.
   */
  newRoute(protector: object, slab: Buffer, slotBytes: number, header: Buffer, absOffset: number, ssrc: number): object;
  /** Where the route's packets go from here on: a UDP socket's descriptor (-1: nowhere) and an IPv4 peer. */
  routeTo(route: object, fd: number, port: number, ipv4: number): void;
  /**
   * Writes one packet into its slot (header from the template, then the
   * protected payload) and, with flags bit 1, sends it; flags bit 0 is the
   * marker, bit 2 the padding bit. Returns the datagram's size when sent, minus its size when only
   * written (not asked to send, no descriptor, socket full, or a send error,
   * after which the route forgets its descriptor), 0 when it does not fit a
   * slot (nothing written).
   */
  sendRtp(route: object, payload: Buffer, seq: number, timestamp: number, absSendTime: number, roc: number, flags: number): number;
  /** A fan-out (native/fanout.c): routes that take each packet in one call, with no members yet; its records name `ring` (0-127: sent-packets.ts's PayloadRing). */
  newFanout(ring: number): object;
  /**
   * Adds a member: its route, its state (LANE_STATE numbers, the rollover
   * fields set), its SentPackets' records and SentDatagrams' entries, which
   * each packet is written into, the offsets to its numbers and the header
   * bits its records carry besides the marker. Returns its index.
   */
  fanoutAdd(
    fanout: object,
    route: object,
    state: Float64Array,
    records: Uint32Array,
    history: Int32Array,
    seqOffset: number,
    tsOffset: number,
    bits: number,
    pidOffset: number,
    tl0Offset: number,
  ): number;
  /** Removes member `index`; the last one moves into its place: returns its old index, or -1 when none moved. */
  fanoutRemove(fanout: object, index: number): number;
  /**
   * Writes, protects and sends one packet for every member; elapsed[i] gets
   * the ms from the call's start to member i's send. Returns how many did
   * not go (their state's LANE_UNSENT_SEQ and LANE_UNSENT_SIZE say which and
   * how). The payload's picture ID (pidBits 7 or 15 wide at byte pidAt, -1
   * for none) and TL0PICIDX (at tl0At, -1 for none) get each member's offsets.
   */
  fanoutSend(
    fanout: object,
    payload: Buffer,
    seq: number,
    timestamp: number,
    absSendTime: number,
    marker: boolean,
    elapsed: Float64Array,
    pidAt: number,
    pidBits: number,
    pid: number,
    tl0At: number,
    tl0: number,
  ): number;
}

/** A fan-out member's state (fanoutAdd), as native/fanout.c lays it out. */
export const LANE_PACKETS = 0;
export const LANE_PAYLOAD_BYTES = 1;
export const LANE_DATAGRAM_BYTES = 2;
export const LANE_ROC = 3;
export const LANE_LAST_SEQ = 4;
export const LANE_ROC_STARTED = 5;
/** The number of a packet written and not sent (-1: none), and its size in its slot (0: it did not fit one and was not written). */
export const LANE_UNSENT_SEQ = 6;
export const LANE_UNSENT_SIZE = 7;
export const LANE_STATE = 8;

/** sendRtp's flags. */
export const RTP_MARKER = 1;
export const RTP_SEND = 2;
/** The header's padding bit: the payload ends in padding (a padding-only packet, in practice). */
export const RTP_PADDING = 4;

/** Where the build puts the compiled addon. */
export const NATIVE_ADDON_PATH = fileURLToPath(new URL("./native/fastpath.node", import.meta.url));

function load(): { addon?: NativeFastPath; reason: string } {
  if (process.env.TESSERA_NATIVE === "0") return { reason: "turned off (TESSERA_NATIVE=0)" };
  if (!existsSync(NATIVE_ADDON_PATH)) return { reason: `not built (${NATIVE_ADDON_PATH} is missing; scripts/build.mjs makes it with gcc)` };
  try {
    return { addon: createRequire(import.meta.url)(NATIVE_ADDON_PATH) as NativeFastPath, reason: "native" };
  } catch (err) {
    return { reason: `could not be loaded: ${(err as Error).message}` };
  }
}

const loaded = load();

/** The native fast path, or undefined (see nativeFastPathStatus for why). */
export const nativeFastPath: NativeFastPath | undefined = loaded.addon;

/**
 * Whether a track's steady viewers are sent to through the native fan-out
 * (fanout-lane.ts): with the native part, unless TESSERA_FANOUT=0 (each
 * viewer then takes its own native call, as before the fan-out).
 */
export const nativeFanout: boolean = loaded.addon !== undefined && process.env.TESSERA_FANOUT !== "0";

/** "native", or why the TypeScript path runs instead. */
export const nativeFastPathStatus: string = loaded.reason;

/** The OS descriptor of a bound UDP socket, or undefined where Node does not expose one. */
export function udpDescriptor(socket: Socket): number | undefined {
  // Node keeps its UDP handle under an internal symbol; `_handle` is the deprecated way to it.
  const state = Object.getOwnPropertySymbols(socket).find((s) => s.description === "state symbol");
  const handle = state ? (socket as unknown as Record<symbol, { handle?: { fd?: unknown } }>)[state]?.handle : undefined;
  const fd = handle?.fd;
  return typeof fd === "number" && fd >= 0 ? fd : undefined;
}

/** A dotted IPv4 address as the 32-bit number sendTo takes, or undefined for anything else. */
export function ipv4Number(address: string): number | undefined {
  const parts = address.split(".");
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
}

/** A socket's sends not yet finished, and who hears when one starts with none before it. */
interface SendCounter {
  count: number;
  readonly busy: Set<() => void>;
}

/** Sends a socket has been given and not yet finished, by socket (see pendingSends). */
const inFlight = new WeakMap<Socket, SendCounter>();

/**
 * Counts the sends made on `socket` from now on (by anyone: werift's DTLS,
 * STUN and RTCP too) until each one's callback: a dgram send waits a tick
 * for its address lookup, so a direct sendto would overtake it, and a
 * viewer's first SRTP packets must not pass the DTLS flight that lets it
 * read them. Sends made before the first call cannot be seen: the count
 * starts at one until the event loop has gone round once (they have been
 * handed to libuv by then). `busy` is told when a send starts with none
 * before it on its way, before it is made: a datagram sent with sendto from
 * then on would overtake it (the native fan-out's members leave it then).
 * Wraps the socket's `send` once.
 */
export function pendingSends(socket: Socket): { readonly count: number; readonly busy: Set<() => void> } {
  const known = inFlight.get(socket);
  if (known) return known;
  const counter: SendCounter = { count: 1, busy: new Set() };
  setImmediate(() => counter.count--);
  const send = socket.send.bind(socket) as (...a: unknown[]) => void;
  const done = (callback: unknown) => (err: Error | null, bytes: number) => {
    counter.count--;
    if (typeof callback === "function") (callback as (err: Error | null, bytes: number) => void)(err, bytes);
  };
  socket.send = function (...args: unknown[]) {
    const last = args[args.length - 1];
    if (typeof last === "function") args[args.length - 1] = done(last);
    else args.push(done(undefined));
    if (counter.count++ === 0) for (const f of [...counter.busy]) f();
    try {
      return send(...args);
    } catch (err) {
      counter.count--;
      throw err;
    }
  } as typeof socket.send;
  inFlight.set(socket, counter);
  return counter;
}

import type { Socket } from "node:dgram";
import { isIP } from "node:net";
import { ipv4Number, nativeFastPath, pendingSends, RTP_MARKER, RTP_PADDING, RTP_SEND, udpDescriptor, type NativeFastPath } from "./native.js";
import type { SendCounts } from "./send-counts.js";
import type { IceConnection, IcePair } from "./sender-internals.js";
import { SLOT_LARGE, type SentDatagrams } from "./sent-datagrams.js";

/** What the native route writes each packet from: the bound session's protection, header template and SSRC. */
export interface RouteTemplate {
  /** The SRTP protector's native handle (srtp-protect.ts). */
  handle: object;
  header: Buffer;
  /** Where the abs-send-time value goes in the header, or -1. */
  absOffset: number;
  ssrc: number;
  audio: boolean;
}

/**
 * Where one fast sender's datagrams go (fast-sender.ts): the pair ICE
 * nominated, straight to its UDP socket for a host or server-reflexive pair
 * (what werift's three async layers end in), through werift for TURN and
 * TCP. With the native fast path, an IPv4 pair's datagram is one sendto on
 * the socket's descriptor while nothing waits in libuv's queue for it (so
 * the order holds), and a media packet is written, protected, kept in its
 * history slot and sent in one call (the route); when the socket is full, a
 * datagram goes the dgram way and is queued there. Counts every datagram in
 * `counts`.
 */
export class Egress {
  /** The pair whose UDP socket this path writes to directly, as last checked. */
  private pair: IcePair | undefined;
  private direct: Socket | undefined;
  /** With the native fast path, the direct socket's descriptor and the pair's IPv4 address as a number. */
  private directFd: number | undefined;
  private directIp = 0;
  /** With the native fast path, the direct socket's sends still on their way (by anyone); a sendto waits for them. */
  private sends: { readonly count: number; readonly busy: Set<() => void> } | undefined;
  /** Told when the direct socket gets a send through dgram with none before it (the fan-out's member leaves), while set. */
  private busyListener: (() => void) | undefined;
  private busySocket: Socket | undefined;
  /** The native route (native.ts: header, protection, slot and sendto in one call), and the descriptor it sends on (-1: none). */
  private route: object | undefined;
  private routeFd = -1;
  private template: RouteTemplate | undefined;

  /**
   * `moving` is called before the pair or the route changes (the counts so
   * far are the old pair's; a fan-out sending through the route lets go of it).
   */
  constructor(
    private readonly counts: SendCounts,
    private readonly history: SentDatagrams,
    private readonly moving: () => void,
  ) {}

  /** The pair datagrams go to, as last followed (werift's counts of it are kept there). */
  get nominated(): IcePair | undefined {
    return this.pair;
  }

  /** True when a media packet can take the native route now (`sendNative`). */
  get native(): boolean {
    return this.routeFd >= 0 && this.direct !== undefined;
  }

  /** Takes the connection's nominated pair if it changed: which socket (and, natively, which descriptor and address) to write to. */
  check(connection: IceConnection): void {
    const pair = connection.nominated;
    if (pair === this.pair) return;
    this.moving();
    this.pair = pair;
    const transport = pair?.protocol.transport;
    this.direct = pair?.protocol.type === "stun" && transport?.type === "udp" && isIP(pair.remoteAddr[0]) ? transport.socket : undefined;
    const ip = pair ? ipv4Number(pair.remoteAddr[0]) : undefined;
    // dgram sockets carry their family as `type` (not in Node's typings).
    const udp4 = (this.direct as unknown as { type?: string } | undefined)?.type === "udp4";
    this.directFd = nativeFastPath && this.direct && udp4 && ip !== undefined ? udpDescriptor(this.direct) : undefined;
    this.directIp = ip ?? 0;
    this.onBusy(undefined);
    this.sends = this.directFd !== undefined && this.direct ? pendingSends(this.direct) : undefined;
    this.routeTo();
  }

  /**
   * The native route, when a packet may go through it from a fan-out
   * (fanout-lane.ts) from now on: the route points at the nominated pair's
   * socket, nothing waits in it, and the connection may send. Undefined
   * otherwise.
   */
  laneRoute(connection: IceConnection): object | undefined {
    this.check(connection);
    const pair = this.pair;
    if (!this.native || !this.idle() || pair === undefined || pair.protocol.transport?.closed || connection.canSendApplicationData?.() !== true)
      return undefined;
    return this.route;
  }

  /** True while what laneRoute found still holds but for the socket's queue (which `onBusy` watches): the same pair, open, and the connection may send. */
  laneStillRoutes(connection: IceConnection): boolean {
    const pair = this.pair;
    return connection.nominated === pair && pair !== undefined && !pair.protocol.transport?.closed && connection.canSendApplicationData?.() === true;
  }

  /**
   * `f` hears when the direct socket gets a send through dgram with none
   * before it, or closes (undefined: no one). Closing is heard before the
   * event loop turns, so no sendto goes to its descriptor once another
   * socket may have it.
   */
  onBusy(f: (() => void) | undefined): void {
    const listening = this.busyListener;
    if (listening !== undefined) {
      this.sends?.busy.delete(listening);
      this.busySocket?.off("close", listening);
    }
    this.busyListener = f;
    this.busySocket = f !== undefined && this.sends !== undefined ? this.direct : undefined;
    if (f !== undefined) {
      this.sends?.busy.add(f);
      this.busySocket?.on("close", f);
    }
  }

  /**
   * What the native route writes from (undefined: no route until a new
   * one; left out: the same as before). Makes the route anew, pointed where
   * the old one was: after a new session or codec, or a change in the
   * header template's bytes.
   */
  rebuild(template: RouteTemplate | undefined = this.template): void {
    this.moving();
    this.template = template;
    this.route = undefined;
    this.routeTo();
  }

  /**
   * True when no datagram waits in dgram (its address lookup takes a tick)
   * or in libuv's queue: the kernel took every earlier one. With the native
   * part, every send on the socket is counted until its callback, which
   * comes after libuv's queue lets it go: the count alone answers.
   */
  idle(): boolean {
    const socket = this.direct;
    if (socket === undefined) return false;
    return this.sends !== undefined ? this.sends.count === 0 : socket.getSendQueueCount() === 0;
  }

  /**
   * The native route, when `native`: header, protection, history slot and
   * sendto in one call. Returns the datagram's size, or 0 when the packet
   * does not fit a slot (the caller writes it the other way).
   */
  sendNative(connection: IceConnection, payload: Buffer, bits: number, seq: number, timestamp: number, abs: number, roc: number): number {
    const pair = this.pair as IcePair;
    const send = !pair.protocol.transport?.closed && connection.canSendApplicationData?.() === true;
    // The route's template carries the playout delay (the fast sender keeps it current).
    const flags = (bits & (RTP_MARKER | RTP_PADDING)) | (send ? RTP_SEND : 0);
    const result = (nativeFastPath as NativeFastPath).sendRtp(this.route as object, payload, seq, timestamp >>> 0, abs, roc, flags);
    if (result === 0) return 0;
    const size = result > 0 ? result : -result;
    this.history.writtenInSlot(seq, size);
    if (result > 0) {
      this.counts.datagram(size, true);
      return size;
    }
    // Written, not sent: the connection cannot take it now, or the socket is full (dgram queues it),
    // or its descriptor failed (the route forgot it; dgram reports the error its own way).
    if (!send) {
      this.counts.datagram(size, false);
      connection.send(this.history.get(seq) as Buffer).catch(() => undefined);
      return size;
    }
    (this.direct as Socket).send(this.history.get(seq) as Buffer, pair.remoteAddr[1], pair.remoteAddr[0]);
    this.counts.datagram(size, true);
    return size;
  }

  /** Sends again the datagram a fan-out left in `seq`'s slot without sending it (the socket was full or had gone), through dgram or werift. */
  sendFromSlot(connection: IceConnection, seq: number): void {
    const datagram = this.history.get(seq);
    if (datagram === undefined) return;
    const pair = this.pair;
    if (this.direct === undefined || pair === undefined || pair.protocol.transport?.closed || connection.canSendApplicationData?.() !== true) {
      connection.send(datagram).catch(() => undefined);
      return;
    }
    this.direct.send(datagram, pair.remoteAddr[1], pair.remoteAddr[0]);
  }

  /** Hands a datagram to the nominated pair (`idle`: as this path last found the socket). */
  transmit(connection: IceConnection, datagram: Buffer, idle: boolean): void {
    const pair = connection.nominated;
    if (pair !== this.pair) {
      this.check(connection);
      idle = this.idle();
    }
    const socket = this.direct;
    if (!socket || !pair || pair.protocol.transport?.closed || connection.canSendApplicationData?.() !== true) {
      this.counts.datagram(datagram.length, false);
      connection.send(datagram).catch(() => undefined);
      return;
    }
    if (!idle || !this.sentDirectly(datagram, pair.remoteAddr[1])) socket.send(datagram, pair.remoteAddr[1], pair.remoteAddr[0]);
    this.counts.datagram(datagram.length, true);
  }

  /** Points the native route (made here once the slab exists) at the current descriptor and pair, or nowhere. */
  private routeTo(): void {
    const native = nativeFastPath;
    const template = this.template;
    const fd = this.directFd ?? -1;
    this.routeFd = -1;
    if (native === undefined || template === undefined || (fd < 0 && this.route === undefined)) return;
    if (this.route === undefined) {
      const slab = this.history.slabFor(template.audio ? 0 : SLOT_LARGE);
      this.route = native.newRoute(template.handle, slab, this.history.slotBytes, template.header, template.absOffset, template.ssrc);
    }
    native.routeTo(this.route, fd, fd >= 0 ? (this.pair as IcePair).remoteAddr[1] : 0, this.directIp);
    this.routeFd = fd;
  }

  /** The native sendto, when it applies (an IPv4 pair, the socket idle) and the kernel takes the datagram now. */
  private sentDirectly(datagram: Buffer, port: number): boolean {
    const fd = this.directFd;
    if (fd === undefined) return false;
    try {
      return (nativeFastPath as NonNullable<typeof nativeFastPath>).sendTo(fd, datagram, port, this.directIp);
    } catch {
      // e.g. the descriptor was closed under us: dgram reports it its own way.
      this.directFd = undefined;
      return false;
    }
  }
}

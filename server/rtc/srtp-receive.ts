import type { RTCPeerConnection } from "werift";
import { listenersChanged } from "./census.js";
import { nativeFastPath, type NativeFastPath } from "./native.js";
import { srtcpTrailerBytes, srtpTrailerBytes } from "./srtp-protect.js";

/** The werift 0.25 internals read here; none is in its typings, and each is checked before use. */
interface Subscription {
  unSubscribe(): void;
}
interface RolloverState {
  rolloverCounter: number;
  lastSequenceNumber: number;
  rolloverHasProcessed?: boolean;
}
interface RemoteContext {
  profile: number;
  srtpSessionKey: Buffer;
  srtpSessionSalt: Buffer;
  srtpSessionAuthTag?: Buffer;
  srtpSSRCStates: Record<number, (RolloverState & { ssrc: number }) | undefined>;
  updateRolloverCount(sequenceNumber: number, state: RolloverState): void;
}
interface SrtpSessionInternals {
  remoteContext?: RemoteContext;
  decrypt?: (packet: Buffer) => Buffer;
}
interface SrtcpSessionInternals {
  remoteContext?: { profile: number; srtcpSessionKey: Buffer; srtcpSessionSalt: Buffer; srtcpSessionAuthTag?: Buffer };
  decrypt?: (packet: Buffer) => Buffer;
}
interface TransportInternals {
  srtp?: SrtpSessionInternals;
  srtcp?: SrtcpSessionInternals;
  onStateChange?: { subscribe(fn: (state: string) => void): Subscription };
}

/** Sessions whose decrypt is the native one. */
const opened = new WeakSet<object>();

/**
 * Opens the SRTP and SRTCP that `pc`'s peer sends (a device's media, a
 * viewer's microphone, every viewer's receiver reports and feedback) with
 * the native fast path instead of werift's decrypt, which parses every
 * header twice and makes a cipher object per packet: about a quarter of the
 * CPU a publishing device costs the server, and 1–2 % of the relay's main
 * thread for its viewers' RTCP. Each DTLS transport's sessions are taken
 * over when it connects (and again after a new handshake); werift still
 * does the rest (RTP and RTCP parsing, stats). Without the native part this
 * does nothing. Call after setLocalDescription. Returns what lets go of the
 * transports' state (for its owner's close: a transport that never started
 * may never say it closed); they also let go when they close or fail.
 */
export function openSrtpNatively(pc: RTCPeerConnection, native: NativeFastPath | undefined = nativeFastPath): () => void {
  const releases: (() => void)[] = [];
  const releaseAll = () => {
    for (const release of releases.splice(0)) release();
  };
  if (native === undefined) return releaseAll;
  for (const transport of (pc as unknown as { dtlsTransports?: TransportInternals[] }).dtlsTransports ?? []) {
    const onStateChange = transport.onStateChange;
    if (!onStateChange) continue;
    const open = () => {
      if (transport.srtp) takeOver(transport.srtp, native);
      if (transport.srtcp) takeOverRtcp(transport.srtcp, native);
    };
    open();
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      subscription.unSubscribe();
      listenersChanged(-1);
    };
    const subscription = onStateChange.subscribe((state) => {
      if (state === "connected") open();
      if (state === "closed" || state === "failed") release();
    });
    listenersChanged(1);
    releases.push(release);
  }
  return releaseAll;
}

/** True when `session`'s packets are opened natively. */
export function isOpenedNatively(session: object | undefined): boolean {
  return session !== undefined && opened.has(session);
}

/**
 * Replaces one werift SRTP session's decrypt: the header is measured once,
 * the rollover counter advanced as werift does (and kept only when the
 * packet is genuine), the packet opened natively into a new buffer. A
 * packet the native part does not take (malformed, or a tag that does not
 * match) goes to werift's own decrypt, which drops it the way werift does.
 */
export function takeOver(session: SrtpSessionInternals, native: NativeFastPath): boolean {
  const context = session.remoteContext;
  const original = session.decrypt;
  if (opened.has(session)) return true;
  if (!context || typeof original !== "function" || typeof context.updateRolloverCount !== "function" || typeof context.srtpSSRCStates !== "object")
    return false;
  let handle: object;
  try {
    handle = native.newUnprotector(context.profile, context.srtpSessionKey, context.srtpSessionSalt, context.srtpSessionAuthTag);
  } catch {
    return false;
  }
  const trailer = srtpTrailerBytes(context.profile);
  const next: RolloverState = { rolloverCounter: 0, lastSequenceNumber: 0, rolloverHasProcessed: undefined };
  session.decrypt = (packet: Buffer): Buffer => {
    const headerBytes = rtpHeaderBytes(packet, trailer);
    if (headerBytes < 0) return original(packet);
    const ssrc = packet.readUInt32BE(8);
    const seq = packet.readUInt16BE(2);
    const state = context.srtpSSRCStates[ssrc];
    next.rolloverCounter = state?.rolloverCounter ?? 0;
    next.lastSequenceNumber = state?.lastSequenceNumber ?? 0;
    next.rolloverHasProcessed = state?.rolloverHasProcessed;
    context.updateRolloverCount(seq, next);
    const out = Buffer.allocUnsafe(packet.length - trailer);
    if (!native.unprotect(handle, packet, headerBytes, out, ssrc, seq, next.rolloverCounter)) return original(packet);
    if (state) {
      state.rolloverCounter = next.rolloverCounter;
      state.lastSequenceNumber = next.lastSequenceNumber;
      state.rolloverHasProcessed = next.rolloverHasProcessed;
    } else {
      context.srtpSSRCStates[ssrc] = { ssrc, ...next };
    }
    return out;
  };
  opened.add(session);
  return true;
}

/**
 * Replaces one werift SRTCP session's decrypt: the packet's tag checked and
 * the packet opened natively into a new buffer, the same bytes werift's
 * gives. A packet the native part does not take (too short, or a tag that
 * does not match) goes to werift's own decrypt, which drops it the way
 * werift does.
 */
export function takeOverRtcp(session: SrtcpSessionInternals, native: NativeFastPath): boolean {
  const context = session.remoteContext;
  const original = session.decrypt;
  if (opened.has(session)) return true;
  if (!context || typeof original !== "function") return false;
  let handle: object;
  try {
    handle = native.newUnprotector(context.profile, context.srtcpSessionKey, context.srtcpSessionSalt, context.srtcpSessionAuthTag);
  } catch {
    return false;
  }
  const trailer = srtcpTrailerBytes(context.profile);
  session.decrypt = (packet: Buffer): Buffer => {
    // At least the RTCP header and SSRC before the trailer.
    if (packet.length < 8 + trailer) return original(packet);
    const out = Buffer.allocUnsafe(packet.length - trailer);
    return native.unprotectRtcp(handle, packet, out) ? out : original(packet);
  };
  opened.add(session);
  return true;
}

/**
 * The length of an SRTP packet's RTP header (fixed part, CSRCs, header
 * extension), or -1 when it is not an RTP version 2 header that ends before
 * the `trailer` bytes of tag.
 */
export function rtpHeaderBytes(packet: Buffer, trailer: number): number {
  const end = packet.length - trailer;
  if (end < 12 || packet[0] >> 6 !== 2) return -1;
  let n = 12 + 4 * (packet[0] & 0x0f);
  if (packet[0] & 0x10) {
    if (n + 4 > end) return -1;
    n += 4 + 4 * packet.readUInt16BE(n + 2);
  }
  return n <= end ? n : -1;
}

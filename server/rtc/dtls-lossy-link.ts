/**
 * What werift 0.25's DTLS gets wrong on a link that loses and reorders
 * packets, both seen joining Chromium viewers at 5 % loss and 40 ± 30 ms
 * each way (4 joins of 53 between them; the page made a new connection,
 * after 9 s when the session's keys were gone):
 *
 * - It puts a fragmented handshake message together as soon as the last
 *   fragment it has buffered ends the message, whatever else it has: the
 *   second half of Chromium's ClientHello (sent in two fragments) from its
 *   first send and the second half from its resend made a "whole" message
 *   whose first half was zeros, the negotiation failed on it, and so did the
 *   DTLS transport. Here each message's fragments are kept until they cover
 *   it (RFC 6347 4.2.3), and werift gets only whole ones.
 * - A ClientHello that reaches a connected server starts a new handshake
 *   (werift's renegotiation drops the session's keys). A resend of the
 *   ClientHello the session began with, overtaken on the way by the rest of
 *   the handshake, did that: every record after it failed to decrypt. Here a
 *   ClientHello with the session's own client random is a late copy and
 *   goes no further; one with another random still starts anew.
 *
 * And what it leaves to chance: it sends each record of a flight in a
 * datagram of its own (its flight 4 is five), and the flight is whole only
 * if every one arrives. At 5 % loss five datagrams all arrive 77 % of the
 * time, one 95 %; a flight that misses one waits for a resend timer, which
 * Chromium's doubling has often taken to 200–400 ms by then. Here the
 * records sent in one turn of the event loop go out together, as many to a
 * datagram as fit in MAX_DATAGRAM (RFC 6347 4.1.1 allows several).
 */

/** A handshake fragment as werift parses it (its FragmentedHandshake). */
export interface HandshakeFragment {
  msg_type: number;
  length: number;
  message_seq: number;
  fragment_offset: number;
  fragment_length: number;
  fragment: Buffer;
}

/** A handshake message longer than this is refused (a certificate chain is a few KB): a peer cannot make the server hold more. */
const MAX_MESSAGE_BYTES = 1 << 16;
/** Messages with fragments missing kept at most; the oldest goes first. */
const MAX_PENDING = 8;

/** One peer's handshake messages that have fragments missing. */
export class HandshakeReassembly {
  private readonly pending = new Map<string, HandshakeFragment[]>();

  /**
   * Takes one fragment; returns the fragments of its message once they cover
   * it (by offset, duplicates dropped), the fragment alone when it is the
   * whole message, and nothing otherwise. A message sent again is handed on
   * again when whole again: werift answers a resent flight with its own.
   */
  take(f: HandshakeFragment): HandshakeFragment[] {
    const { length, fragment_offset: offset, fragment_length: size } = f;
    if (length > MAX_MESSAGE_BYTES || offset + size > length || f.fragment.length !== size) return [];
    if (offset === 0 && size === length) return [f];
    const key = `${f.message_seq}/${f.msg_type}/${length}`;
    let fragments = this.pending.get(key);
    if (!fragments) {
      if (this.pending.size >= MAX_PENDING) this.pending.delete(this.pending.keys().next().value as string);
      fragments = [];
      this.pending.set(key, fragments);
    }
    if (fragments.some((g) => g.fragment_offset === offset && g.fragment_length === size)) return [];
    fragments.push(f);
    fragments.sort((a, b) => a.fragment_offset - b.fragment_offset);
    let covered = 0;
    for (const g of fragments) {
      if (g.fragment_offset > covered) return [];
      covered = Math.max(covered, g.fragment_offset + g.fragment_length);
    }
    if (covered < length) return [];
    this.pending.delete(key);
    return fragments;
  }

  /** Forgets every message (a new handshake numbers its messages from 0 again). */
  clear(): void {
    this.pending.clear();
  }
}

/** The largest datagram records are packed into: the size WebRTC stacks keep their packets under (Chromium's SCTP too), so that no path fragments it. */
const MAX_DATAGRAM = 1200;

/** Groups records, in order, into as few datagrams as fit in MAX_DATAGRAM each (a larger record goes alone). */
export function packDatagrams(records: readonly Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  let group: Buffer[] = [];
  let size = 0;
  for (const r of records) {
    if (group.length > 0 && size + r.length > MAX_DATAGRAM) {
      out.push(group.length === 1 ? group[0] : Buffer.concat(group, size));
      group = [];
      size = 0;
    }
    group.push(r);
    size += r.length;
  }
  if (group.length > 0) out.push(group.length === 1 ? group[0] : Buffer.concat(group, size));
  return out;
}

/** The werift 0.25 DtlsSocket internals replaced or read; each is checked before use. */
interface SocketInternals {
  transport?: { send?: (buf: Buffer, addr?: unknown) => unknown };
  handleFragmentHandshake?: (messages: HandshakeFragment[]) => HandshakeFragment[];
  onHandleHandshakes?: (assembled: HandshakeFragment[]) => Promise<void>;
  renegotiation?: () => void;
  bufferFragmentedHandshakes?: unknown[];
  connected?: boolean;
  cipher?: { remoteRandom?: { serialize?: () => Buffer } };
}

const MENDED = Symbol("tessera.lossyLinkMended");
const CLIENT_HELLO = 1;

/** True for a ClientHello (its whole body) carrying the client random `socket`'s finished handshake began with. */
function lateClientHello(socket: SocketInternals, h: HandshakeFragment): boolean {
  if (h.msg_type !== CLIENT_HELLO || socket.connected !== true || h.fragment.length < 34) return false;
  const random = socket.cipher?.remoteRandom?.serialize?.();
  // client_version (2 bytes), then the 32-byte random (RFC 6347 4.2.1).
  return Buffer.isBuffer(random) && random.length === 32 && h.fragment.subarray(2, 34).equals(random);
}

/**
 * Sends what `send` is given in one turn of the event loop packed into as
 * few datagrams as fit (packDatagrams), in order; once `direct()` says so
 * and nothing waits, a datagram goes straight through (after the handshake
 * only application data goes this way, a record per datagram as werift
 * sends it).
 */
function packTurns(send: (buf: Buffer) => unknown, direct: () => boolean): (buf: Buffer) => Promise<unknown> {
  let queue: Buffer[] = [];
  let flushed: Promise<unknown> | undefined;
  return (buf) => {
    if (queue.length === 0 && direct()) return Promise.resolve(send(buf));
    queue.push(buf);
    flushed ??= Promise.resolve().then(() => {
      const records = queue;
      queue = [];
      flushed = undefined;
      return Promise.all(packDatagrams(records).map((d) => send(d)));
    });
    return flushed;
  };
}

/**
 * Makes a werift DTLS server or client (`transport.dtls` once DTLS started)
 * take handshake messages that come in pieces, out of order or late, and
 * send its flights packed (see above); false when it cannot. Wraps what is
 * there, so it goes after skipHelloVerify.
 */
export function tolerateLossyLinks(socket: unknown): boolean {
  const s = socket as (SocketInternals & { [MENDED]?: true }) | undefined;
  const handle = s?.onHandleHandshakes;
  const transport = s?.transport;
  const send = transport?.send;
  if (
    !s ||
    typeof s.handleFragmentHandshake !== "function" ||
    !Array.isArray(s.bufferFragmentedHandshakes) ||
    typeof handle !== "function" ||
    !transport ||
    typeof send !== "function"
  )
    return false;
  if (s[MENDED]) return true;
  s[MENDED] = true;
  transport.send = packTurns(
    (buf) => send.call(transport, buf),
    () => s.connected === true,
  );
  const reassembly = new HandshakeReassembly();
  s.handleFragmentHandshake = (messages) => messages.flatMap((m) => reassembly.take(m));
  s.onHandleHandshakes = (assembled) =>
    handle.call(
      s,
      assembled.filter((h) => !lateClientHello(s, h)),
    );
  const renegotiation = s.renegotiation;
  if (typeof renegotiation === "function")
    s.renegotiation = () => {
      reassembly.clear();
      renegotiation.call(s);
    };
  return true;
}

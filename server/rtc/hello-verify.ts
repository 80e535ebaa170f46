import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/**
 * werift 0.25's DTLS server answers every first ClientHello with a
 * HelloVerifyRequest (a cookie the client must echo in a second
 * ClientHello): one more round trip before the handshake proper, about 1 RTT
 * of every viewer's time to first frame. The cookie guards a server against
 * a spoofed source address, but here DTLS only starts once ICE has checked
 * the peer's address both ways (RFC 8842 runs it over the ICE pair), and
 * RFC 6347 makes the exchange optional; Chromium's own DTLS server does not
 * use it.
 *
 * This answers a cookieless ClientHello with the ServerHello flight at once:
 * werift's own flight 2 still negotiates (cipher suite, curve, SRTP profile,
 * randoms) with its HelloVerifyRequest left unsent, then its flight 4 goes
 * with message_seq from 0, as the first messages of a handshake without the
 * exchange must (RFC 6347 4.2.2). A resent ClientHello (the flight was lost)
 * gets the flight again, as werift does it. A ClientHello that carries a
 * cookie, a renegotiation, and anything else go to werift unchanged.
 */

/** The werift 0.25 internals used; none is in its typings, and each is checked before use. */
interface Handshake {
  msg_type: number;
  fragment: Buffer;
}
interface DtlsServerInternals {
  connected?: boolean;
  transport?: { send: (buf: Buffer) => unknown };
  dtls?: { flight?: number; sequenceNumber?: number };
  cipher?: object;
  srtp?: object;
  options?: { certificateRequest?: boolean };
  onHandleHandshakes?: (assembled: Handshake[]) => Promise<void>;
}
interface Flight4Like {
  exec(clientHello: Handshake, certificateRequest?: boolean): Promise<void>;
}
type Flight4Class = new (udp: unknown, dtls: unknown, cipher: unknown, srtp: unknown) => Flight4Like & { sendServerHello(): Buffer };
type ClientHelloClass = { deSerialize(buf: Buffer): { cookie: Buffer } };

const CLIENT_HELLO = 1;
const SKIPPED = Symbol("tessera.helloVerifySkipped");

/** werift's flight 4 with the ServerHello as message 0, and its ClientHello parser; undefined when this werift has neither. */
const internals = ((): { Flight4: Flight4Class; ClientHello: ClientHelloClass } | undefined => {
  try {
    const require = createRequire(import.meta.url);
    // werift's exports map hides its DTLS package; a path from its entry point does not.
    const dtlsSrc = join(dirname(require.resolve("werift")), "../../dtls/src");
    const { Flight4 } = require(join(dtlsSrc, "flight/server/flight4.js")) as { Flight4?: Flight4Class };
    const { ClientHello } = require(join(dtlsSrc, "handshake/message/client/hello.js")) as { ClientHello?: ClientHelloClass };
    if (
      typeof Flight4 !== "function" ||
      typeof (Flight4.prototype as { sendServerHello?: unknown }).sendServerHello !== "function" ||
      typeof ClientHello?.deSerialize !== "function"
    )
      return undefined;
    class FirstFlight4 extends Flight4 {
      override sendServerHello(): Buffer {
        (this as unknown as { dtls: { sequenceNumber: number } }).dtls.sequenceNumber = 0;
        return super.sendServerHello();
      }
    }
    return { Flight4: FirstFlight4, ClientHello };
  } catch {
    return undefined;
  }
})();

/** True when this werift can skip the exchange (its internals are where they were looked for). */
export const helloVerifySkippable = internals !== undefined;

/** Makes a werift DTLS server (`transport.dtls` once DTLS started) answer without a HelloVerifyRequest; false when it cannot. */
export function skipHelloVerify(server: unknown): boolean {
  const s = server as DtlsServerInternals & { [SKIPPED]?: true };
  if (!internals || s?.constructor?.name !== "DtlsServer") return false;
  const original = s.onHandleHandshakes;
  const { transport, dtls, cipher, srtp } = s;
  if (typeof original !== "function" || !transport || typeof transport.send !== "function" || !dtls || !cipher || !srtp) return false;
  if (s[SKIPPED]) return true;
  s[SKIPPED] = true;
  const { Flight4, ClientHello } = internals;
  s.onHandleHandshakes = async (assembled) => {
    const hello = assembled.find((h) => h.msg_type === CLIENT_HELLO);
    if (!hello || s.connected || ClientHello.deSerialize(hello.fragment).cookie.length > 0) return original(assembled);
    if ((dtls.flight ?? 0) < 2) {
      // Flight 2 negotiates synchronously, then sends its HelloVerifyRequest: that send goes nowhere.
      const send = transport.send;
      transport.send = () => undefined;
      let negotiated: Promise<void>;
      try {
        negotiated = original([hello]);
      } finally {
        transport.send = send;
      }
      await negotiated; // a failed negotiation rejects to werift, as it would have
    }
    await new Flight4(transport, dtls, cipher, srtp).exec(hello, s.options?.certificateRequest);
    const rest = assembled.filter((h) => h !== hello);
    if (rest.length > 0) await original(rest);
  };
  return true;
}

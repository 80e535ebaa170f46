import type { RTCPeerConnection } from "werift";
import { listenersChanged } from "./census.js";
import { tolerateLossyLinks } from "./dtls-lossy-link.js";
import { skipHelloVerify } from "./hello-verify.js";

/** The werift 0.25 internals read here; none is in its typings, and each is checked before use. */
interface Subscription {
  unSubscribe(): void;
}
interface TransportInternals {
  state?: string;
  iceTransport?: { connection?: { onData?: { subscribe(fn: (data: Buffer) => void): Subscription } } };
  onStateChange?: { subscribe(fn: (state: string) => void): Subscription };
  /** The DTLS server or client, once `start()` made it; its transport's socket takes datagrams. */
  dtls?: { transport?: { socket?: { onData?: (data: Buffer) => void } } };
}

/** DTLS datagrams kept per transport until its DTLS server exists: a fragmented ClientHello and a resend or two. */
const KEEP = 8;

/** DTLS records start with a content type of 20..63 (RFC 7983's demultiplexing). */
const isDtls = (data: Buffer) => data.length > 0 && data[0] > 19 && data[0] < 64;

/**
 * werift makes a connection's DTLS server only once its own ICE check list
 * has finished, but a browser sends its ClientHello as soon as its side of
 * ICE is up, often before that, and werift drops it: the browser then
 * resends after 50, 100, 200, 400 ms. Measured here, a joining Chromium
 * viewer waited 180–750 ms between ICE and DTLS this way. This keeps the
 * DTLS records that arrive while a transport of `pc` is still "new" (the
 * ClientHello, which Chromium sends in two fragments, and any resend) and
 * hands them, in order, to the DTLS server the moment `start()` has made it.
 * Call after setLocalDescription (the transports exist then); it lets go of
 * everything once DTLS starts, or when `pc` closes. The DTLS server it finds
 * also answers without a HelloVerifyRequest (hello-verify.ts), and it or the
 * DTLS client takes handshake messages that come in pieces, out of order or
 * late, and sends its flights packed (dtls-lossy-link.ts).
 */
export function keepEarlyDtls(pc: RTCPeerConnection): void {
  for (const transport of (pc as unknown as { dtlsTransports?: TransportInternals[] }).dtlsTransports ?? []) {
    const onData = transport.iceTransport?.connection?.onData;
    const onStateChange = transport.onStateChange;
    if (transport.state !== "new" || !onData || !onStateChange) continue;
    const kept: Buffer[] = [];
    const subscriptions: Subscription[] = [];
    const release = () => {
      listenersChanged(-subscriptions.length);
      for (const s of subscriptions.splice(0)) s.unSubscribe();
    };
    subscriptions.push(
      onData.subscribe((data) => {
        if (transport.state === "new" && isDtls(data) && kept.length < KEEP) kept.push(Buffer.from(data));
      }),
      onStateChange.subscribe((state) => {
        release();
        const records = kept.splice(0);
        if (state !== "connecting") return;
        // "connecting" is announced just before start() makes its DTLS server, synchronously: it exists by the next microtask.
        queueMicrotask(() => {
          if (transport.state !== "connecting") return;
          skipHelloVerify(transport.dtls);
          tolerateLossyLinks(transport.dtls);
          const deliver = transport.dtls?.transport?.socket?.onData;
          if (deliver) for (const record of records) deliver(record);
        });
      }),
    );
    listenersChanged(subscriptions.length);
    pc.connectionStateChange.subscribe((state) => {
      if (state === "closed" || state === "failed") release();
    });
  }
}

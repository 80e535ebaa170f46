import type { RTCRtpSender } from "werift";
import { listenersChanged } from "./census.js";

/**
 * werift calls a sender ready when its own side of DTLS is connected. As the
 * DTLS server (which it is to every viewer) that is the moment it has sent
 * its last flight, so the viewer holds the SRTP keys only half a round trip
 * later, or later still when that flight is lost. The media sent meanwhile
 * is dropped by the viewer, and on a link that reorders, media sent just
 * after the flight overtakes it. A browser never asks again for packets
 * older than the first it received, so a keyframe whose first packets went
 * this way is lost for good: the viewer drops every frame after it and waits
 * for its PLI to bring another. Seen joining the test device over 40 ± 30 ms
 * each way without loss: the first frame came 0.7–1.0 s after the connection
 * in 3 joins of 7 at 1280 px (Chromium had received 300–460 packets, sent
 * 3–5 PLIs and dropped 28–29 frames by then), 0.1 s in the others.
 */

/** Without a sign from the peer (a WHEP player without a data channel may send nothing at first), media goes this long after the handshake, ms. */
export const PEER_KEYED_FALLBACK_MS = 300;

interface TransportInternals {
  role?: string;
  iceTransport?: { connection?: { onData?: { subscribe(fn: (data: Buffer) => void): { unSubscribe(): void } } } };
}

/** While the peer's keys are awaited, `meanwhile` is called this often, ms. */
export const MEANWHILE_EVERY_MS = 20;

/** A datagram only a peer holding the session's keys sends: SRTP or SRTCP (RFC 7983: 128–191) or a DTLS record of application data (content type 23: its SCTP). */
export const sentKeyed = (d: Buffer): boolean => d.length > 0 && (d[0] === 23 || (d[0] >= 128 && d[0] <= 191));

/**
 * Calls `ready` once the peer on `sender`'s connection holds the session's
 * keys: at once when this side is the DTLS client (its handshake ends with
 * the peer's last flight), else at the peer's first datagram that shows it
 * (sentKeyed), or after `fallbackMs` without one. Call when werift's sender
 * is ready. A browser viewer's SCTP starts as soon as its DTLS is up: on
 * loopback this waits about a millisecond, on a link about a round trip.
 * While it waits, `meanwhile` is called at once and every MEANWHILE_EVERY_MS.
 */
export function whenPeerKeyed(sender: RTCRtpSender, ready: () => void, meanwhile?: () => void, fallbackMs = PEER_KEYED_FALLBACK_MS): void {
  const transport = (sender as unknown as { dtlsTransport?: TransportInternals }).dtlsTransport;
  const onData = transport?.iceTransport?.connection?.onData;
  if (transport?.role !== "server" || !onData) return ready();
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    clearInterval(again);
    subscription.unSubscribe();
    listenersChanged(-1);
    ready();
  };
  const subscription = onData.subscribe((d) => {
    if (sentKeyed(d)) finish();
  });
  listenersChanged(1);
  const timer = setTimeout(finish, fallbackMs);
  timer.unref();
  const again = meanwhile ? setInterval(meanwhile, MEANWHILE_EVERY_MS) : undefined;
  again?.unref();
  meanwhile?.();
}

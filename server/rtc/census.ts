/**
 * What the WebRTC layer holds open in this process: peer connections by
 * role and werift event subscriptions. Read by metrics
 * (`tessera_peer_connections`, `tessera_werift_listeners`) so a leak shows
 * as a count that does not come back down (the churn tests check it).
 */

/** Which side of Tessera a peer connection is. */
export type PeerRole = "publisher" | "subscriber" | "whep";

const peers = new Map<PeerRole, number>([
  ["publisher", 0],
  ["subscriber", 0],
  ["whep", 0],
]);
let listeners = 0;

/** Counts one open peer connection; the returned function uncounts it (once). */
export function peerOpened(role: PeerRole): () => void {
  peers.set(role, (peers.get(role) ?? 0) + 1);
  let open = true;
  return () => {
    if (!open) return;
    open = false;
    peers.set(role, (peers.get(role) ?? 0) - 1);
  };
}

/** werift event subscriptions made (+n) or dropped (-n) by Listeners. */
export function listenersChanged(n: number): void {
  listeners += n;
}

/** The counts now. */
export function rtcCensus(): { peers: ReadonlyMap<PeerRole, number>; listeners: number } {
  return { peers, listeners };
}

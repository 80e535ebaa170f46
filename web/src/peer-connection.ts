import type { IceCandidate } from "../../server/protocol/messages.js";

/** A local candidate as the signaling protocol carries it. */
export function candidateJson(c: RTCIceCandidate): IceCandidate {
  return { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex, usernameFragment: c.usernameFragment };
}

/**
 * Trickles `pc`'s local candidates through `send`, holding them until the
 * description they belong to has been sent. Returns the function to call
 * right after sending it.
 */
export function trickle(pc: RTCPeerConnection, isCurrent: () => boolean, send: (c: RTCIceCandidate) => void): () => void {
  const pending: RTCIceCandidate[] = [];
  let released = false;
  pc.onicecandidate = (ev) => {
    if (!isCurrent() || !ev.candidate) return;
    if (released) send(ev.candidate);
    else pending.push(ev.candidate);
  };
  return () => {
    released = true;
    for (const c of pending.splice(0)) send(c);
  };
}

/** How long a new connection may take to connect before it is given up and retried, ms. */
export const CONNECT_TIMEOUT_MS = 8000;

/**
 * Reports `pc`'s connection states and calls `recover` when it fails, stays
 * disconnected for `graceMs`, or has not connected within CONNECT_TIMEOUT_MS
 * (a handshake that stalls, e.g. on a heavily loaded host, never fails by itself).
 */
export function supervise(
  pc: RTCPeerConnection,
  isCurrent: () => boolean,
  onState: (state: RTCPeerConnectionState) => void,
  recover: () => void,
  graceMs: number,
): void {
  let graceTimer: number | undefined;
  let connectTimer: number | undefined = window.setTimeout(() => isCurrent() && recover(), CONNECT_TIMEOUT_MS);
  pc.onconnectionstatechange = () => {
    if (!isCurrent()) return;
    const state = pc.connectionState;
    clearTimeout(graceTimer);
    if (state === "connected" || state === "closed") {
      clearTimeout(connectTimer);
      connectTimer = undefined;
    }
    onState(state);
    if (state === "failed") recover();
    if (state === "disconnected") graceTimer = window.setTimeout(() => isCurrent() && recover(), graceMs);
  };
}

/**
 * What the relay reports as media flows. The metrics module implements it;
 * tests and benchmarks may pass their own. Implementations must be cheap:
 * packetIn and packetOut run per packet.
 */
export interface RelayObserver {
  packetIn(kind: "video" | "audio", bytes: number): void;
  /** A packet was written towards a viewer; latencyMs is from relay ingress. */
  packetOut(kind: "video" | "audio", bytes: number, latencyMs: number): void;
  /** A packet towards a viewer took werift's own send path (before DTLS is up), not the fast path. */
  sentThroughWerift(kind: "video" | "audio"): void;
  /**
   * A packet of `bytes` went to `count` viewers in one native call (a lane,
   * lane.ts): the i-th `baseMs` + elapsedMs[i] after relay ingress (as
   * packetOut's latencyMs, elapsedMs not decreasing). Instead of packetOut for each.
   */
  fannedOut(kind: "video" | "audio", bytes: number, count: number, baseMs: number, elapsedMs: Float64Array): void;
  /** The server asked a device for a keyframe: an RTCP PLI, or an event to a local encoder (test device, frame devices). */
  keyframeRequestToDevice(by: "pli" | "encoder"): void;
  keyframeRequestFromViewer(type: "pli" | "fir"): void;
  /** A viewer NACKed `count` packets. */
  nackReceived(count: number): void;
  /** The server asked a device to resend `count` packets it lost on the way in (an RTCP NACK). */
  nackToDevice(count: number): void;
  /** `count` packets were resent from the sender's cache in answer to NACKs. */
  retransmitted(count: number): void;
  /** `count` packets a viewer NACKed were not resent: its resends had taken what its link carries (resend-budget.ts). */
  resendsHeldBack(count: number): void;
  /** Packets lost on the way to a viewer (from its receiver reports) or from a device (seen by the server). */
  packetsLost(reporter: "viewer" | "device", count: number): void;
  /** A viewer's video moved to a higher or lower simulcast layer. */
  layerSwitch(direction: "up" | "down"): void;
  /** A probe of a viewer's link with padding ended: it had room (the viewer climbed), or it congested (it stays). */
  bandwidthProbe(outcome: "room" | "congested"): void;
}

/** An observer that ignores everything. */
export const nullObserver: RelayObserver = {
  packetIn() {},
  packetOut() {},
  sentThroughWerift() {},
  fannedOut() {},
  keyframeRequestToDevice() {},
  keyframeRequestFromViewer() {},
  nackReceived() {},
  nackToDevice() {},
  retransmitted() {},
  resendsHeldBack() {},
  packetsLost() {},
  layerSwitch() {},
  bandwidthProbe() {},
};

/**
 * What the relay reports as media flows. The metrics module implements it;
 * tests and benchmarks may pass their own. Implementations must be cheap:
 * packetIn and packetOut run per packet.
 */
export interface RelayObserver {
  packetIn(kind: "video" | "audio", bytes: number): void;
  /** A packet was written towards a viewer; latencyMs is from relay ingress. */
  packetOut(kind: "video" | "audio", bytes: number, latencyMs: number): void;
  keyframeRequestToDevice(): void;
  keyframeRequestFromViewer(): void;
  /** A viewer NACKed `count` packets; they were answered from the sender's cache. */
  nackReceived(count: number): void;
}

/** An observer that ignores everything. */
export const nullObserver: RelayObserver = {
  packetIn() {},
  packetOut() {},
  keyframeRequestToDevice() {},
  keyframeRequestFromViewer() {},
  nackReceived() {},
};

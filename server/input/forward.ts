import type { Metrics } from "../../metrics/metrics.js";
import type { Device } from "../devices/device.js";
import { checkInputLine } from "./lines.js";
import type { PointerOrder } from "./pointer-order.js";
import type { TokenBucket } from "./rate-limiter.js";

/** Which of a viewer's lanes a line came on: the reliable, ordered one (data channel `input`, or the fallback socket) or `pointer`. */
export type InputLane = "input" | "pointer";

/**
 * One input line from a viewer: only the controlling viewer's valid lines
 * reach the device, within its rate, in the order `order` keeps across the
 * viewer's lanes; all but `p` (an echo request) count as the holder's
 * activity. Every line is counted, forwarded or dropped by reason.
 */
export function forwardInput(metrics: Metrics, device: Device, peerId: string, bucket: TokenBucket, order: PointerOrder, lane: InputLane, line: string): void {
  if (!bucket.take(performance.now())) return metrics.inputDropped("rate_limited");
  const verdict = checkInputLine(line, device.input.streamSize);
  // An echo request is not activity: a viewer that only measures its round trip still goes idle.
  const holds = verdict.ok && verdict.kind === "ping" ? device.input.holder === peerId : device.input.use(peerId);
  if (!holds) return metrics.inputDropped("not_controller");
  if (!verdict.ok) return metrics.inputDropped(verdict.reason);
  let out: string;
  if (lane === "pointer") {
    const moved = order.move(line);
    if (!moved.ok) return metrics.inputDropped(moved.reason);
    out = moved.line;
  } else {
    out = order.reliable(line);
  }
  if (!device.input.toDevice(out)) return metrics.inputDropped("device_unavailable");
  metrics.inputForwarded(verdict.kind);
}

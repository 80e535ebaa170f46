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
 * viewer's lanes. Every line is counted, forwarded or dropped by reason.
 */
export function forwardInput(metrics: Metrics, device: Device, peerId: string, bucket: TokenBucket, order: PointerOrder, lane: InputLane, line: string): void {
  if (!bucket.take(performance.now())) return metrics.inputDropped("rate_limited");
  if (!device.input.use(peerId)) return metrics.inputDropped("not_controller");
  const verdict = checkInputLine(line, device.input.streamSize);
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

import type { Metrics } from "../../metrics/metrics.js";
import type { Device } from "../devices/device.js";
import { checkInputLine } from "./lines.js";
import type { TokenBucket } from "./rate-limiter.js";

/**
 * One input line from a viewer (data channel or fallback socket): only the
 * controlling viewer's valid lines reach the device, within its rate. Every
 * line is counted, forwarded or dropped by reason.
 */
export function forwardInput(metrics: Metrics, device: Device, peerId: string, bucket: TokenBucket, line: string): void {
  if (!bucket.take(performance.now())) return metrics.inputDropped("rate_limited");
  if (!device.input.use(peerId)) return metrics.inputDropped("not_controller");
  const verdict = checkInputLine(line, device.input.streamSize);
  if (!verdict.ok) return metrics.inputDropped(verdict.reason);
  if (!device.input.toDevice(line)) return metrics.inputDropped("device_unavailable");
  metrics.inputForwarded(verdict.kind);
}

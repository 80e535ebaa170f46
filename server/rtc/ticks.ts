import { errorStack } from "./errors.js";

/**
 * How often (ms, while packets flow) a fast sender (fast-sender.ts) looks
 * past its own fields, after a packet (queueTick): it checks its binding (DTLS session,
 * keys, codec), refreshes the sender report's NTP/RTP timestamp pair and
 * adds its counts into werift's sender, DTLS transport and ICE pair, so a
 * sender report's counts are those of its timestamps' moment. Between
 * ticks a packet touches only this object, the native route and the
 * connection's consent state (werift's objects are a set of cache lines per
 * viewer; at 200 viewers, perf put touching them for every packet at one to
 * three points of the relay's main thread). A new DTLS session or codec is
 * taken up within a tick. The tick also sends the sender reports when due
 * (sender-report.ts).
 */
export const TICK_MS = 20;
/**
 * Fast senders whose tick fell due, run once the packet in hand has gone to
 * every viewer (and any more the same read brought: setImmediate runs after
 * libuv's poll phase). Every viewer sees the same packets, so every sender's
 * tick falls on the same one, a frame's first: at 100 viewers their
 * binding checks, counts, timestamps and reports (2.4 µs each) kept the
 * last viewers of that packet waiting about 0.2 ms longer. The binding
 * check goes with them: a new DTLS session or codec is still taken up
 * within a tick.
 */
const dueTicks: Array<{ tick(): void }> = [];
/** Runs the due ticks; one that throws is reported and the rest still run. A tick queues nothing. */
function runTicks(): void {
  for (let i = 0; i < dueTicks.length; i++) {
    try {
      dueTicks[i].tick();
    } catch (err) {
      process.emitWarning(`a fast sender's tick threw: ${errorStack(err)}`, { code: "TESSERA_TICK_ERROR" });
    }
  }
  dueTicks.length = 0;
}

/** Queues `sender`'s tick to run once the packet in hand has gone to every viewer. */
export function queueTick(sender: { tick(): void }): void {
  if (dueTicks.push(sender) === 1) setImmediate(runTicks);
}

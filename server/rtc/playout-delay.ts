/**
 * The playout-delay header extension (webrtc.org's
 * `rtp-hdrext/playout-delay`): the sender tells the receiver the least and
 * the most its jitter buffer may hold a frame. 0–0 makes Chromium show each
 * frame as soon as it is decoded; anything else leaves it to its own
 * jitter buffer within the bounds. A viewer's video goes with ZERO_DELAY
 * while its link is clean (server/protocol/clean-link.ts) and BROWSER_DELAY
 * otherwise: with no jitter buffer a frame waiting for a resend shows as a
 * freeze, so the first NACK from the viewer hands the buffer back at once.
 * (`--playout-delay browser` does not offer the extension.)
 */
export const PLAYOUT_DELAY_URI = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay";

/** The extension's value: min and max in 10 ms units, 12 bits each (a 24-bit field). */
export function playoutDelayValue(minMs: number, maxMs: number): number {
  const unit = (ms: number) => Math.max(0, Math.min(0xfff, Math.round(ms / 10)));
  return (unit(minMs) << 12) | unit(maxMs);
}

/** Render at once: no jitter buffer. */
export const ZERO_DELAY = playoutDelayValue(0, 0);
/** The browser's own jitter buffer, as without the extension (Chromium's defaults: 0 to 10 s). */
export const BROWSER_DELAY = playoutDelayValue(0, 10_000);

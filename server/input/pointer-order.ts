/**
 * Puts a viewer's two input lanes back in order. Over WebRTC a viewer sends
 * pointer moves on the unordered, unretransmitted `pointer` channel and every
 * other line on the reliable, ordered `input` channel. Each `m` line carries
 * a sequence number as its sixth field (`m,x,y,buttonMask,scroll,seq`), one
 * counter for both lanes, so the server can tell:
 *
 * - a move older than the newest pointer line already forwarded is stale and
 *   dropped: a late move never drags the pointer back, and a press never
 *   follows a move that was sent after it;
 * - buttons belong to the reliable lane: a move carries the button mask of
 *   the last reliable `m` line, so a move that overtakes a press or release
 *   cannot press or release anything by itself.
 *
 * The device always gets plain five-field `m` lines. Pure: no I/O.
 */

/** Why a line from the `pointer` lane was not forwarded. */
export type PointerLaneRejection = "stale" | "wrong_lane";

/** A line to forward, or why not. */
export type Ordered = { ok: true; line: string } | { ok: false; reason: PointerLaneRejection };

const SEQ = /^\d{1,15}$/;

/** One viewer's pointer order at one device (a new seat starts afresh). */
export class PointerOrder {
  /** The highest sequence number forwarded from either lane; -1 before any. */
  private high = -1;
  /** The button mask of the last reliable `m` line. */
  private buttons = "0";

  /**
   * A checked line from the reliable `input` lane: always forwarded. An `m`
   * line's sequence number (if any) is taken off and raises the high mark;
   * its buttons become the ones moves carry.
   */
  reliable(line: string): string {
    if (!line.startsWith("m,")) return line;
    const fields = line.split(",");
    this.buttons = fields[3];
    if (fields.length < 6) return line;
    this.high = Math.max(this.high, Number(fields[5]));
    return fields.slice(0, 5).join(",");
  }

  /**
   * A checked line from the `pointer` lane: only an `m` line with no wheel
   * and a sequence number, newer than everything forwarded so far.
   */
  move(line: string): Ordered {
    const fields = line.split(",");
    if (fields[0] !== "m" || fields.length !== 6 || fields[4] !== "0" || !SEQ.test(fields[5])) return { ok: false, reason: "wrong_lane" };
    const seq = Number(fields[5]);
    if (seq <= this.high) return { ok: false, reason: "stale" };
    this.high = seq;
    return { ok: true, line: `m,${fields[1]},${fields[2]},${this.buttons},0` };
  }
}

/**
 * Which of a viewer's two WebRTC lanes each input line takes. Pointer moves
 * go on `pointer`, an unordered channel that never resends (a lost move is
 * superseded by the next one); everything else (presses, releases, wheel,
 * keys, clipboard, touch) on the reliable, ordered `input`. Every `m` line
 * gets a sequence number as its sixth field, one counter for both lanes, so
 * the server drops a move that arrives after a newer line and takes buttons
 * only from `input` (server/input/pointer-order.ts). When the pointer stops,
 * its last position is sent once more on `input`, so a lost final move still
 * lands. Without a `pointer` lane (the fallback socket, an older server)
 * lines go out unchanged. Pure: no DOM, so e2e/pointer-lane.test.ts runs it.
 */

/** A line and the lane it goes on. */
export interface Routed {
  lane: "input" | "pointer";
  line: string;
}

/** How long the pointer rests before its last position is sent reliably, ms. */
export const SETTLE_MS = 100;

export class PointerLanes {
  private seq = 0;
  /** The button mask of the last `m` line sent. */
  private buttons: string | undefined;
  /** The last move sent on `pointer`, until it is settled on `input`. */
  private unsettled: string[] | undefined;

  /** A new connection: its first `m` line goes on `input`. The sequence numbers carry on. */
  reset(): void {
    this.buttons = undefined;
    this.unsettled = undefined;
  }

  /** Routes one line; `pointerOpen` says whether the `pointer` lane can take it now. */
  route(line: string, pointerOpen: boolean): Routed {
    if (!pointerOpen || !line.startsWith("m,")) return { lane: "input", line };
    const fields = line.split(",");
    const move = fields[3] === this.buttons && fields[4] === "0";
    this.buttons = fields[3];
    this.unsettled = move ? fields : undefined;
    return { lane: move ? "pointer" : "input", line: `${line},${++this.seq}` };
  }

  /** After SETTLE_MS without a line: the last move again, for `input`, or undefined when nothing is unsettled. */
  settle(): Routed | undefined {
    const fields = this.unsettled;
    this.unsettled = undefined;
    return fields && { lane: "input", line: `${fields.join(",")},${++this.seq}` };
  }
}

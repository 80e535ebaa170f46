/**
 * Touch on a desktop, as phones and tablets users expect of a remote
 * desktop: a tap clicks, a finger that moves drags with the left button, a
 * finger held still for LONG_PRESS_MS right-clicks, and two fingers moved
 * up or down scroll. Pure: `t` lines go in (with the time through the
 * injected timer), pointer actions come out.
 */

/** How long a still finger waits before it is a right click, ms. */
export const LONG_PRESS_MS = 500;
/** How far a finger may wander (stream pixels) and still be a tap or a long press. */
export const SLOP_PX = 8;
/** Vertical travel of two fingers per wheel step, stream pixels. */
export const SCROLL_STEP_PX = 24;

const LEFT = 1;
const RIGHT = 4;

/** What the gestures do to the desktop's pointer: a position, the button mask, wheel steps (negative = up). */
export type PointerOut = (x: number, y: number, buttons: number, scroll: number) => void;

/** A timer the caller owns (setTimeout in use; a fake one in tests). */
export interface GestureTimer {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

type State =
  /** No finger down. */
  | { kind: "idle" }
  /** One finger down, not moved yet: a tap, a drag or a long press to be. */
  | { kind: "pending"; x: number; y: number; timer: unknown }
  /** One finger dragging with the left button down. */
  | { kind: "drag" }
  /** Two fingers: vertical travel becomes wheel steps. */
  | { kind: "scroll"; y: number; x: number }
  /** The gesture is over (a long press fired, a scroll ended): wait for every finger to lift. */
  | { kind: "done" };

export class TouchGestures {
  private state: State = { kind: "idle" };
  private readonly fingers = new Map<number, { x: number; y: number }>();

  constructor(
    private readonly out: PointerOut,
    private readonly timer: GestureTimer,
  ) {}

  /** One `t,phase,id,x,y` line, already checked. */
  touch(phase: string, id: number, x: number, y: number): void {
    if (phase === "start") this.start(id, x, y);
    else if (phase === "move") this.move(id, x, y);
    else this.end(id, x, y, phase === "cancel");
  }

  /** Lets go of whatever a gesture holds (control ended). */
  reset(): void {
    if (this.state.kind === "pending") this.timer.clear(this.state.timer);
    this.state = { kind: "idle" };
    this.fingers.clear();
  }

  private start(id: number, x: number, y: number): void {
    this.fingers.set(id, { x, y });
    const s = this.state;
    if (this.fingers.size === 1 && s.kind === "idle") {
      const timer = this.timer.set(() => this.longPress(), LONG_PRESS_MS);
      this.state = { kind: "pending", x, y, timer };
      return;
    }
    if (this.fingers.size === 2 && (s.kind === "pending" || s.kind === "drag")) {
      // A second finger: a scroll, not a click; a drag under way lets go first.
      if (s.kind === "pending") this.timer.clear(s.timer);
      const first = [...this.fingers.values()][0];
      if (s.kind === "drag") this.out(first.x, first.y, 0, 0);
      this.state = { kind: "scroll", x: first.x, y: this.meanY() };
      return;
    }
    if (s.kind === "scroll") this.state = { kind: "scroll", x: s.x, y: this.meanY() };
  }

  private move(id: number, x: number, y: number): void {
    if (!this.fingers.has(id)) return;
    this.fingers.set(id, { x, y });
    const s = this.state;
    if (s.kind === "pending" && Math.hypot(x - s.x, y - s.y) > SLOP_PX) {
      this.timer.clear(s.timer);
      this.out(s.x, s.y, LEFT, 0);
      this.out(x, y, LEFT, 0);
      this.state = { kind: "drag" };
    } else if (s.kind === "drag") {
      this.out(x, y, LEFT, 0);
    } else if (s.kind === "scroll") {
      const steps = Math.trunc((this.meanY() - s.y) / SCROLL_STEP_PX);
      if (steps === 0) return;
      // Fingers moving up scroll down, as on a phone's own screen.
      this.out(s.x, this.meanYRounded(), 0, -steps);
      this.state = { kind: "scroll", x: s.x, y: s.y + steps * SCROLL_STEP_PX };
    }
  }

  private end(id: number, x: number, y: number, cancelled: boolean): void {
    if (!this.fingers.delete(id)) return;
    const s = this.state;
    if (s.kind === "pending") {
      this.timer.clear(s.timer);
      // A tap: a click where the finger came down (a cancelled touch clicks nothing).
      if (!cancelled) {
        this.out(s.x, s.y, LEFT, 0);
        this.out(s.x, s.y, 0, 0);
      }
      this.state = { kind: "done" };
    } else if (s.kind === "drag") {
      this.out(x, y, 0, 0);
      this.state = { kind: "done" };
    } else if (s.kind === "scroll") {
      this.state = { kind: "done" };
    }
    if (this.fingers.size === 0) this.state = { kind: "idle" };
  }

  private longPress(): void {
    const s = this.state;
    if (s.kind !== "pending") return;
    this.out(s.x, s.y, RIGHT, 0);
    this.out(s.x, s.y, 0, 0);
    this.state = { kind: "done" };
  }

  private meanY(): number {
    let sum = 0;
    for (const f of this.fingers.values()) sum += f.y;
    return sum / Math.max(1, this.fingers.size);
  }

  private meanYRounded(): number {
    return Math.round(this.meanY());
  }
}

/**
 * Keeps control with this page while it changes transport. Control is held
 * per connection (the signaling socket's peer id over WebRTC, the fallback
 * socket's over the WebSocket stream), so the page moves it with the
 * server's own ask and hand-over: the new transport asks, and the old one,
 * kept open until then, hands over to it. Nobody else can take control in
 * between, and the server's arbitration is the same as between two viewers.
 */

/** How long the old transport is kept open for the hand-over, ms. */
export const CARRY_TIMEOUT_MS = 3000;

/** The two ends of one move. */
export interface CarryEnds {
  /** The new transport's peer id, once known. */
  to(): string | undefined;
  /** Asks for control on the new transport. */
  request(): void;
  /** Answers an ask on the old transport: control moves to `to`. */
  handOver(to: string): void;
  /** The move is over (done or given up): the old transport may close. */
  done(moved: boolean): void;
}

export class ControlCarry {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private requested = false;
  private finished = false;

  constructor(
    private readonly ends: CarryEnds,
    timeoutMs = CARRY_TIMEOUT_MS,
  ) {
    this.timer = setTimeout(() => this.finish(false), timeoutMs);
  }

  /** True until the move is done or given up. */
  get pending(): boolean {
    return !this.finished;
  }

  /** The new transport is ready (its peer id known): ask on it. Idempotent. */
  ready(): void {
    if (this.finished || this.requested || this.ends.to() === undefined) return;
    this.requested = true;
    this.ends.request();
  }

  /** An ask reached the old transport: true when it is ours (and was answered). */
  asked(from: string): boolean {
    if (this.finished || from !== this.ends.to()) return false;
    this.ends.handOver(from);
    return true;
  }

  /** The new transport's request was refused as `busy` (the ask is on its way): true while that is expected. */
  refused(code: string): boolean {
    return !this.finished && this.requested && code === "busy";
  }

  /** Control changed hands: done once the new transport holds it. */
  holder(holder: string | null): void {
    if (!this.finished && holder !== null && holder === this.ends.to()) this.finish(true);
  }

  /** Gives up (the viewing ended); the old transport is not told. */
  cancel(): void {
    this.finished = true;
    clearTimeout(this.timer);
  }

  private finish(moved: boolean): void {
    if (this.finished) return;
    this.cancel();
    this.ends.done(moved);
  }
}

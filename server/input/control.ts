/** What changed after a control operation. */
export interface ControlChange {
  /** The new holder (peer id) or null when the device became free. */
  holder: string | null;
}

/**
 * Who controls one device: at most one viewer at a time. A request while
 * someone else holds control is refused (the holder may hand over); the
 * holder releasing, leaving or staying idle for `idleMs` frees it. Pure:
 * callers pass the time.
 */
export class ControlArbiter {
  private _holder: string | null = null;
  private lastActivity = 0;

  constructor(readonly idleMs: number) {}

  get holder(): string | null {
    return this._holder;
  }

  /**
   * `peerId` asks for control. Returns the change when granted (or already
   * held by it: null change), or "busy".
   */
  request(peerId: string, nowMs: number): ControlChange | null | "busy" {
    this.expire(nowMs);
    if (this._holder === peerId) {
      this.lastActivity = nowMs;
      return null;
    }
    if (this._holder !== null) return "busy";
    this._holder = peerId;
    this.lastActivity = nowMs;
    return { holder: peerId };
  }

  /** The holder `from` hands control to `to`; a change only if `from` held it. */
  transfer(from: string, to: string, nowMs: number): ControlChange | null {
    if (this._holder !== from || from === to) return null;
    this._holder = to;
    this.lastActivity = nowMs;
    return { holder: to };
  }

  /** `peerId` gives control up (or leaves); a change only if it held it. */
  release(peerId: string): ControlChange | null {
    if (this._holder !== peerId) return null;
    this._holder = null;
    return { holder: null };
  }

  /** True when `peerId` holds control at `nowMs`; counts as activity. */
  use(peerId: string, nowMs: number): boolean {
    if (this._holder !== peerId) return false;
    if (nowMs - this.lastActivity > this.idleMs) return false;
    this.lastActivity = nowMs;
    return true;
  }

  /** Frees control held idle for longer than idleMs. */
  expire(nowMs: number): ControlChange | null {
    if (this._holder !== null && nowMs - this.lastActivity > this.idleMs) {
      this._holder = null;
      return { holder: null };
    }
    return null;
  }

  /** Sets the holder as another arbiter decided it (a device held by another node); a change when it differs. */
  follow(holder: string | null, nowMs: number): ControlChange | null {
    this.lastActivity = nowMs;
    if (this._holder === holder) return null;
    this._holder = holder;
    return { holder };
  }

  /** When the current holder would expire, or undefined when free. */
  expiresAt(): number | undefined {
    return this._holder === null ? undefined : this.lastActivity + this.idleMs;
  }
}

import { buttonMask, relativeLine, WheelSteps } from "./input-lines.js";

/**
 * The controller's pointer locked to the picture (Pointer Lock API), for
 * devices that read relative motion (games, 3D, remote desktops with a
 * captured mouse): while locked, moves go as `m2,dx,dy,buttons,scroll`
 * lines (summed per animation frame, reliable lane, since a lost delta
 * would lose the position), with buttons and wheel. Esc unlocks (the
 * browser's own rule). `#player[data-pointer-locked]` mirrors the state.
 */
export class LockedPointer {
  private target: HTMLElement | undefined;
  private dx = 0;
  private dy = 0;
  private buttons = 0;
  private frame: number | undefined;
  private readonly wheel = new WheelSteps();

  constructor(
    private readonly root: HTMLElement,
    private readonly send: (line: string) => void,
    signal: AbortSignal,
  ) {
    const opts = { signal };
    document.addEventListener("pointerlockchange", () => this.changed(), opts);
    document.addEventListener("mousemove", (e) => this.move(e), opts);
    document.addEventListener("mousedown", (e) => this.press(e), opts);
    document.addEventListener("mouseup", (e) => this.press(e), opts);
    document.addEventListener("wheel", (e) => this.scroll(e), { signal, passive: false });
    this.changed();
  }

  /** Whether this browser can lock the pointer at all. */
  static get supported(): boolean {
    return typeof Element.prototype.requestPointerLock === "function";
  }

  /** True while the pointer is locked to the picture. */
  get active(): boolean {
    return this.target !== undefined && document.pointerLockElement === this.target;
  }

  /** Locks the pointer to `el` (needs a user gesture: a click on the button). */
  lock(el: HTMLElement): void {
    this.target = el;
    try {
      const r = el.requestPointerLock() as unknown;
      if (r instanceof Promise) r.catch(() => this.changed());
    } catch {
      this.changed();
    }
  }

  /** Unlocks it, and lets go of what the locked pointer held. */
  unlock(): void {
    if (this.active) document.exitPointerLock();
    this.flush(0);
  }

  private changed(): void {
    const on = this.active;
    this.root.dataset.pointerLocked = String(on);
    if (!on && this.buttons !== 0) this.flush(0);
  }

  private move(e: MouseEvent): void {
    if (!this.active) return;
    this.dx += e.movementX;
    this.dy += e.movementY;
    this.frame ??= requestAnimationFrame(() => {
      this.frame = undefined;
      if (this.dx !== 0 || this.dy !== 0) this.flush(this.buttons);
    });
  }

  private press(e: MouseEvent): void {
    if (!this.active) return;
    e.preventDefault();
    this.flush(buttonMask(e.buttons));
  }

  private scroll(e: WheelEvent): void {
    if (!this.active) return;
    e.preventDefault();
    const steps = this.wheel.add(e.deltaY, e.deltaMode);
    if (steps !== 0) this.flush(this.buttons, steps);
  }

  /** The motion gathered so far, with `buttons` and `scroll`, in one line. */
  private flush(buttons: number, scroll = 0): void {
    if (this.dx === 0 && this.dy === 0 && buttons === this.buttons && scroll === 0) return;
    this.send(relativeLine(Math.round(this.dx), Math.round(this.dy), buttons, scroll));
    this.dx = this.dy = 0;
    this.buttons = buttons;
  }
}

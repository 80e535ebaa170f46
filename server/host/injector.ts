/**
 * Pointer and keyboard input through XTEST FakeInput on one connection: the
 * X server sees it as real hardware input, with no process per event. Keeps
 * track of what it holds down so all of it can be released at once.
 */
import type { XClient, XTest } from "x11";
import type { Logger } from "../log.js";
import { TouchGestures } from "./touch-gestures.js";
import type { Keymap } from "./keymap.js";

/** Most wheel steps sent for one pointer line. */
export const MAX_SCROLL_STEPS = 50;
/** Mask bits of the pointer line → X buttons: bit0 left (1), bit1 middle (2), bit2 right (3). */
const MASK_BUTTONS = [1, 2, 3];
const WHEEL_UP = 4;
const WHEEL_DOWN = 5;
const SHIFT_L = 0xffe1;
/** Largest coordinate an X event carries (INT16). */
const MAX_COORD = 32767;

/** A key held down by a keysym: the keycode pressed and whether Shift was added for it. */
interface HeldKey {
  keycode: number;
  shifted: boolean;
}

/** Injects input and remembers what is held (buttons of the pointer mask, keys by keysym). */
export class XTestInjector {
  /** Touch lines become taps, drags, long presses and scrolls. */
  private readonly gestures: TouchGestures;
  private mask = 0;
  private readonly held = new Map<number, HeldKey>();
  /** How many held keys had Shift added for them; Shift_L is down while this is above zero. */
  private shiftUsers = 0;
  /** Keycodes whose ChangeKeyboardMapping we sent, so the MappingNotify that follows is known to be ours. */
  private readonly ownRemaps = new Set<number>();

  constructor(
    private readonly X: XClient,
    private readonly xtest: XTest,
    private readonly root: number,
    private readonly keymap: Keymap,
    private readonly log: Logger,
  ) {
    const timer = { set: (fn: () => void, ms: number) => setTimeout(fn, ms), clear: (h: unknown) => clearTimeout(h as NodeJS.Timeout) };
    this.gestures = new TouchGestures((x, y, buttons, scroll) => this.pointer(x, y, buttons, scroll), timer);
  }

  /** Absolute move to (x, y), then the button changes the mask makes, then `scroll` wheel steps (negative = up). */
  pointer(x: number, y: number, mask: number, scroll: number): void {
    this.move(x, y);
    this.buttonsAndWheel(mask, scroll);
  }

  /** A relative move by (dx, dy) (a locked pointer), then buttons and wheel as pointer() does. */
  relative(dx: number, dy: number, mask: number, scroll: number): void {
    const clamp = (v: number) => Math.max(-0x8000, Math.min(0x7fff, Math.trunc(v)));
    // XTEST: a MotionNotify whose detail is true moves relative to where the pointer is.
    if (dx !== 0 || dy !== 0) this.xtest.FakeInput(this.xtest.MotionNotify, 1, 0, 0, clamp(dx), clamp(dy));
    this.buttonsAndWheel(mask, scroll);
  }

  private buttonsAndWheel(mask: number, scroll: number): void {
    MASK_BUTTONS.forEach((button, bit) => {
      const down = (mask >> bit) & 1;
      if (down !== ((this.mask >> bit) & 1)) this.button(button, down === 1);
    });
    this.mask = mask & 0b111;
    const steps = Math.min(Math.abs(Math.trunc(scroll)), MAX_SCROLL_STEPS);
    for (let i = 0; i < steps; i++) {
      this.button(scroll < 0 ? WHEEL_UP : WHEEL_DOWN, true);
      this.button(scroll < 0 ? WHEEL_UP : WHEEL_DOWN, false);
    }
  }

  /** A touch point, through the touch gestures: a tap clicks, a drag drags, a long press right-clicks, two fingers scroll. */
  touch(phase: string, id: number, x: number, y: number): void {
    this.gestures.touch(phase, id, x, y);
  }

  /** Presses the key for `keysym`, with Shift when it is only on the shifted level, borrowing a spare keycode when no key has it. */
  keyDown(keysym: number): void {
    const already = this.held.get(keysym);
    if (already) {
      this.fake(this.xtest.KeyPress, already.keycode);
      return;
    }
    let place = this.keymap.find(keysym);
    if (!place) {
      const remap = this.keymap.remap(keysym, this.busyKeycodes());
      if (!remap) {
        this.log.debug("no spare keycode for keysym", { keysym });
        return;
      }
      this.X.ChangeKeyboardMapping(remap.keycode, remap.keysyms.length, remap.keysyms);
      this.ownRemaps.add(remap.keycode);
      place = { keycode: remap.keycode, shift: false };
    }
    const shifted = place.shift && !this.held.has(SHIFT_L);
    if (shifted && this.shiftUsers++ === 0) this.shiftKey(true);
    this.fake(this.xtest.KeyPress, place.keycode);
    this.held.set(keysym, { keycode: place.keycode, shifted });
  }

  /** Releases the key `keysym` pressed (and the Shift added for it); a keysym not held is ignored. */
  keyUp(keysym: number): void {
    const key = this.held.get(keysym);
    if (!key) return;
    this.held.delete(keysym);
    this.fake(this.xtest.KeyRelease, key.keycode);
    if (key.shifted && --this.shiftUsers === 0) this.shiftKey(false);
  }

  /** Releases every key and button held. */
  releaseAll(): void {
    this.gestures.reset();
    for (const keysym of [...this.held.keys()]) this.keyUp(keysym);
    MASK_BUTTONS.forEach((button, bit) => {
      if ((this.mask >> bit) & 1) this.button(button, false);
    });
    this.mask = 0;
  }

  /** True (once) when a MappingNotify for `keycode` is the echo of our own remapping. */
  ownMappingChange(firstKeycode: number, count: number): boolean {
    return count === 1 && this.ownRemaps.delete(firstKeycode);
  }

  private busyKeycodes(): Set<number> {
    return new Set([...this.held.values()].map((k) => k.keycode));
  }

  private shiftKey(down: boolean): void {
    const place = this.keymap.find(SHIFT_L);
    if (place) this.fake(down ? this.xtest.KeyPress : this.xtest.KeyRelease, place.keycode);
  }

  private button(button: number, down: boolean): void {
    this.fake(down ? this.xtest.ButtonPress : this.xtest.ButtonRelease, button);
  }

  private move(x: number, y: number): void {
    const clamp = (v: number) => Math.max(0, Math.min(MAX_COORD, Math.trunc(v)));
    this.xtest.FakeInput(this.xtest.MotionNotify, 0, 0, this.root, clamp(x), clamp(y));
  }

  private fake(type: number, detail: number): void {
    this.xtest.FakeInput(type, detail, 0, 0, 0, 0);
  }
}

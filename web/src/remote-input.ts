import { toStreamPixels, toStreamPixelsClamped, type StreamPoint } from "./coords.js";
import { videoGeometry } from "./dom.js";
import type { Picture } from "./picture.js";
import { clipboardImageLines, CLIPBOARD_IMAGE_TYPE, MAX_CLIPBOARD_IMAGE_BYTES } from "../../server/protocol/clipboard-image.js";
import { buttonMask, clipboardLine, keyLine, pointerLine, RELEASE_ALL, toBase64, touchLine, TouchIds, WheelSteps, type TouchPhase } from "./input-lines.js";
import { PressedKeys } from "./keysym.js";
import { LockedPointer } from "./locked-pointer.js";

/** What RemoteInput needs from its owner. */
export interface RemoteInputEvents {
  /** Sends one input line to the device; false when the channel is not open. */
  send(line: string): boolean;
  /** Tells the user something about their input (a paste that cannot be sent). */
  note(text: string): void;
  /** The user pressed the way out (Ctrl+Alt+Shift): give control up. */
  escape(): void;
}

/**
 * Turns the user's pointer, wheel, keyboard, touch and paste on the picture
 * (the <video>, or the fallback's <canvas>) into input lines while this viewer controls the device. Pointer moves are
 * coalesced to one line per animation frame; buttons, wheel, keys and
 * touches go at once. Keys are captured while the video has focus (a click
 * on it focuses it); Ctrl+Alt+Shift is the way out, and blur releases every
 * key on the device.
 */
export class RemoteInput {
  private active = false;
  private readonly keys = new PressedKeys();
  private readonly wheel = new WheelSteps();
  private readonly touches = new TouchIds();
  /** Protocol button mask the device believes is down. */
  private buttons = 0;
  private lastSent: { x: number; y: number; buttons: number } | undefined;
  private pendingMove: { clientX: number; clientY: number } | undefined;
  private frame: number | undefined;
  /** The keysym of a Ctrl+V held back until its paste event has sent the clipboard. */
  private pasteKey: number | undefined;
  /** Lines held back, in order, while a pasted picture is read (it must reach the device before them). */
  private held: string[] | undefined;
  private readonly abort = new AbortController();
  /** The pointer locked to the picture, sending relative moves instead. */
  private readonly lock: LockedPointer;

  constructor(
    private readonly picture: Picture,
    private readonly events: RemoteInputEvents,
    root: HTMLElement,
  ) {
    const opts = { signal: this.abort.signal };
    this.lock = new LockedPointer(root, (line) => void this.out(line), this.abort.signal);
    for (const v of picture.elements) this.listen(v);
    document.addEventListener("paste", (e) => this.onPaste(e), opts);
    // Best effort: a closing page cannot wait for the channel, but it can try.
    window.addEventListener("pagehide", () => this.releaseAll(), opts);
  }

  /** The element shown now. */
  private get video(): HTMLElement {
    return this.picture.element;
  }

  private listen(v: HTMLElement): void {
    const opts = { signal: this.abort.signal };
    const active = { signal: this.abort.signal, passive: false };
    v.addEventListener("pointerdown", (e) => this.pointerDown(e), opts);
    v.addEventListener("pointermove", (e) => this.pointerMove(e), opts);
    v.addEventListener("pointerup", (e) => this.pointerUp(e), opts);
    v.addEventListener("pointercancel", (e) => this.pointerUp(e), opts);
    v.addEventListener("lostpointercapture", (e) => this.pointerUp(e), opts);
    v.addEventListener("wheel", (e) => this.onWheel(e), active);
    v.addEventListener("contextmenu", (e) => this.active && e.preventDefault(), opts);
    for (const type of ["touchstart", "touchmove", "touchend", "touchcancel"] as const) {
      v.addEventListener(type, (e) => this.onTouch(e), active);
    }
    v.addEventListener("keydown", (e) => this.keyDown(e), opts);
    v.addEventListener("keyup", (e) => this.keyUp(e), opts);
    v.addEventListener("blur", () => this.releaseKeys(), opts);
  }

  /** Locks the pointer to the picture (relative moves) while capturing; false when it cannot. */
  lockPointer(): boolean {
    if (!this.active || !LockedPointer.supported) return false;
    this.video.focus({ preventScroll: true });
    this.lock.lock(this.video);
    return true;
  }

  /** Starts or stops capturing; stopping releases every key and button on the device and blurs the video. */
  setActive(on: boolean): void {
    if (on === this.active) return;
    if (!on) {
      this.lock.unlock();
      this.releaseAll();
    }
    this.active = on;
    for (const v of this.picture.elements) {
      if (!on && document.activeElement === v) v.blur();
      // Focusable (and so able to take keys) only while capturing.
      if (on) v.tabIndex = 0;
      else v.removeAttribute("tabindex");
      v.classList.toggle("capturing", on);
    }
  }

  /** Releases every key, button and touch on the device (`kr`, a button-less pointer line, touch ends). */
  releaseAll(): void {
    // A picture still being read is not sent, nor what waited for it: the releases go now.
    this.held = undefined;
    this.releaseKeys();
    for (const [, id] of this.touches.active()) {
      if (this.lastSent) this.out(touchLine("cancel", id, this.lastSent.x, this.lastSent.y));
    }
    this.touches.clear();
    if (this.buttons !== 0 && this.lastSent) this.sendPointer(this.lastSent, 0);
    this.buttons = 0;
    this.cancelMove();
    this.wheel.reset();
  }

  /** Removes every listener; idempotent. */
  close(): void {
    this.setActive(false);
    this.abort.abort();
  }

  // ---- pointer ---------------------------------------------------------------

  private point(clientX: number, clientY: number, clamp: boolean): StreamPoint | null {
    const { rect, fit } = videoGeometry(this.video);
    const map = clamp ? toStreamPixelsClamped : toStreamPixels;
    const { width, height } = this.picture.size;
    return map(clientX, clientY, rect, width, height, fit);
  }

  private sendPointer(p: StreamPoint, buttons: number, scroll = 0): void {
    if (scroll === 0 && this.lastSent && this.lastSent.x === p.x && this.lastSent.y === p.y && this.lastSent.buttons === buttons) return;
    this.out(pointerLine(p.x, p.y, buttons, scroll));
    this.lastSent = { x: p.x, y: p.y, buttons };
  }

  private pointerDown(e: PointerEvent): void {
    if (!this.active || this.lock.active || e.pointerType === "touch") return;
    const p = this.point(e.clientX, e.clientY, this.buttons !== 0);
    this.video.focus({ preventScroll: true });
    if (!p) return; // on a letterbox bar
    e.preventDefault();
    this.video.setPointerCapture(e.pointerId);
    this.cancelMove();
    this.buttons = buttonMask(e.buttons);
    this.sendPointer(p, this.buttons);
  }

  private pointerMove(e: PointerEvent): void {
    if (!this.active || this.lock.active || e.pointerType === "touch") return;
    const buttons = this.buttons === 0 ? 0 : buttonMask(e.buttons);
    if (buttons !== this.buttons) {
      // A chorded button press or release arrives as a move: send it now.
      const p = this.point(e.clientX, e.clientY, true);
      this.cancelMove();
      this.buttons = buttons;
      if (p) this.sendPointer(p, buttons);
      return;
    }
    this.pendingMove = { clientX: e.clientX, clientY: e.clientY };
    this.frame ??= requestAnimationFrame(() => this.flushMove());
  }

  private flushMove(): void {
    this.frame = undefined;
    const move = this.pendingMove;
    this.pendingMove = undefined;
    if (!move || !this.active) return;
    const p = this.point(move.clientX, move.clientY, this.buttons !== 0);
    if (p) this.sendPointer(p, this.buttons);
  }

  private cancelMove(): void {
    if (this.frame !== undefined) cancelAnimationFrame(this.frame);
    this.frame = undefined;
    this.pendingMove = undefined;
  }

  private pointerUp(e: PointerEvent): void {
    if (!this.active || this.lock.active || e.pointerType === "touch" || this.buttons === 0) return;
    const buttons = e.type === "pointerup" ? buttonMask(e.buttons) : 0;
    const p = this.point(e.clientX, e.clientY, true) ?? this.lastSent;
    this.cancelMove();
    this.buttons = buttons;
    if (p) this.sendPointer(p, buttons);
  }

  private onWheel(e: WheelEvent): void {
    if (!this.active || this.lock.active) return;
    e.preventDefault();
    const p = this.point(e.clientX, e.clientY, this.buttons !== 0);
    if (!p) return;
    const steps = this.wheel.add(e.deltaY, e.deltaMode);
    if (steps === 0) return;
    this.cancelMove();
    this.sendPointer(p, this.buttons, steps);
  }

  // ---- touch -----------------------------------------------------------------

  private onTouch(e: TouchEvent): void {
    if (!this.active) return;
    // No scrolling, zooming or emulated mouse events while driving the device.
    e.preventDefault();
    const phase: TouchPhase = e.type === "touchstart" ? "start" : e.type === "touchmove" ? "move" : e.type === "touchend" ? "end" : "cancel";
    if (phase === "start") this.video.focus({ preventScroll: true });
    for (const t of Array.from(e.changedTouches)) {
      const p = this.point(t.clientX, t.clientY, phase !== "start");
      if (!p) continue;
      const id = phase === "start" ? this.touches.start(t.identifier) : phase === "move" ? this.touches.get(t.identifier) : this.touches.end(t.identifier);
      if (id === undefined) continue; // began on a letterbox bar, or the 257th finger
      this.out(touchLine(phase, id, p.x, p.y));
      this.lastSent = { x: p.x, y: p.y, buttons: this.buttons };
    }
  }

  // ---- keyboard --------------------------------------------------------------

  private keyDown(e: KeyboardEvent): void {
    if (!this.active || e.isComposing) return;
    if (e.ctrlKey && e.altKey && e.shiftKey && (e.key === "Control" || e.key === "Alt" || e.key === "Shift")) {
      e.preventDefault();
      this.events.escape();
      return;
    }
    const keysym = this.keys.down(e.key, e.code);
    if (keysym === undefined) return;
    if ((e.ctrlKey || e.metaKey) && !e.altKey && e.key.toLowerCase() === "v") {
      // Let the browser run its paste: onPaste sends the clipboard, then this key.
      this.pasteKey = keysym;
      return;
    }
    e.preventDefault();
    this.out(keyLine(true, keysym));
  }

  private keyUp(e: KeyboardEvent): void {
    if (!this.active) return;
    e.preventDefault();
    const keysym = this.keys.up(e.key, e.code);
    if (keysym === undefined) return;
    if (this.pasteKey === keysym) {
      // No paste event came (clipboard denied): the keystroke still reaches the device.
      this.pasteKey = undefined;
      this.out(keyLine(true, keysym));
    }
    this.out(keyLine(false, keysym));
  }

  private onPaste(e: ClipboardEvent): void {
    if (!this.active || document.activeElement !== this.video) return;
    e.preventDefault();
    const text = e.clipboardData?.getData("text/plain") ?? "";
    const image = text ? undefined : [...(e.clipboardData?.files ?? [])].find((f) => f.type === CLIPBOARD_IMAGE_TYPE);
    if (text) this.out(clipboardLine(text));
    else if (image && !this.held) this.sendPicture(image);
    if (this.pasteKey !== undefined) {
      this.out(keyLine(true, this.pasteKey));
      this.pasteKey = undefined;
    }
  }

  /** Sends a pasted PNG (`ci` lines); lines meanwhile (the Ctrl+V itself) wait for it, in order. */
  private sendPicture(image: File): void {
    const held: string[] = (this.held = []);
    const flush = () => {
      if (this.held !== held) return; // control ended meanwhile: nothing more goes out
      this.held = undefined;
      for (const line of held) this.events.send(line);
    };
    image.arrayBuffer().then((buffer) => {
      if (this.held !== held) return;
      const lines = clipboardImageLines(toBase64(new Uint8Array(buffer)));
      if (!lines) this.events.note(`That picture is too large to paste (${Math.round(MAX_CLIPBOARD_IMAGE_BYTES / 1000)} KB at most).`);
      for (const line of lines ?? []) this.events.send(line);
      flush();
    }, flush);
  }

  /** Sends a line now, or after the pasted picture being read. */
  private out(line: string): boolean {
    if (!this.held) return this.events.send(line);
    this.held.push(line);
    return true;
  }

  /** `kr` when any key may be down on the device. */
  private releaseKeys(): void {
    if (!this.active) return;
    this.pasteKey = undefined;
    this.keys.clear();
    this.out(RELEASE_ALL);
  }
}

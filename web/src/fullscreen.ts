/**
 * Fullscreen for the player (`#player`: the picture, the control bar and the
 * device's status), from the `#fullscreen` button, the `f` key (unless keys
 * are going to the device) or a double-click on the picture (unless this
 * viewer controls the device: its double-clicks are the device's then).
 *
 * While this viewer controls the device in fullscreen, the keyboard is locked
 * (`navigator.keyboard.lock()`, in Chromium), so Esc, Ctrl+W, Alt+Tab and the
 * like reach the device instead of the browser; holding Esc leaves
 * fullscreen. Browsers without the Keyboard Lock API (Firefox, Safari) get
 * fullscreen alone. On a phone, fullscreen also asks for landscape
 * (`screen.orientation.lock`, where the browser allows it). `#player` mirrors the state as `data-fullscreen` and
 * `data-keyboard-locked` ("true" | "false").
 */

import { touchScreen } from "./soft-keyboard.js";

/** The Keyboard Lock API, where the browser has it (not in TypeScript's DOM types). */
interface KeyboardLock {
  lock(keyCodes?: string[]): Promise<void>;
  unlock(): void;
}

function keyboardLock(): KeyboardLock | undefined {
  const keyboard = (navigator as Navigator & { keyboard?: Partial<KeyboardLock> }).keyboard;
  return typeof keyboard?.lock === "function" && typeof keyboard.unlock === "function" ? (keyboard as KeyboardLock) : undefined;
}

/** Asks the screen to turn to landscape; browsers that cannot (desktops, iOS) refuse, which changes nothing. */
async function landscape(): Promise<void> {
  const orientation = screen.orientation as ScreenOrientation & { lock?: (o: string) => Promise<void> };
  try {
    await orientation.lock?.("landscape");
  } catch {
    // Not allowed here: the picture stays as the phone is held.
  }
}

/** Whether a key event is typing into a form field (then `f` is just a letter). */
function typing(target: EventTarget | null): boolean {
  return (
    target instanceof HTMLInputElement ||
    target instanceof HTMLTextAreaElement ||
    target instanceof HTMLSelectElement ||
    (target instanceof HTMLElement && target.isContentEditable)
  );
}

export class FullscreenPlayer {
  private controlling = false;
  private locked = false;

  /** `capturing` says whether keys go to the device now (this viewer controls it and the picture has focus). */
  constructor(
    private readonly root: HTMLElement,
    private readonly button: HTMLButtonElement,
    pictures: readonly HTMLElement[],
    private readonly capturing: () => boolean,
  ) {
    button.addEventListener("click", () => void this.toggle());
    for (const picture of pictures) picture.addEventListener("dblclick", () => this.controlling || void this.toggle());
    document.addEventListener("keydown", (e) => {
      if (e.key !== "f" || e.repeat || e.ctrlKey || e.altKey || e.metaKey || typing(e.target) || this.capturing()) return;
      e.preventDefault();
      void this.toggle();
    });
    document.addEventListener("fullscreenchange", () => this.changed());
    if (!document.fullscreenEnabled) button.hidden = true;
    this.changed();
  }

  /** Whether the player fills the screen now. */
  get active(): boolean {
    return document.fullscreenElement === this.root;
  }

  /** This viewer took or gave up control: the keyboard is locked only while it controls. */
  setControlling(on: boolean): void {
    this.controlling = on;
    this.applyLock();
  }

  async toggle(): Promise<void> {
    try {
      if (this.active) await document.exitFullscreen();
      else {
        await this.root.requestFullscreen({ navigationUI: "hide" });
        // A phone turns to landscape for the picture, where it lets a page ask (in fullscreen only).
        if (touchScreen()) await landscape();
      }
    } catch (err) {
      // Refused (no user gesture, or a frame that may not): the button says why.
      this.button.title = `Fullscreen refused: ${err instanceof Error ? err.message : String(err)}`;
    }
  }

  private changed(): void {
    const on = this.active;
    this.root.dataset.fullscreen = String(on);
    this.button.textContent = on ? "Exit fullscreen" : "Fullscreen";
    this.button.setAttribute("aria-pressed", String(on));
    this.button.title = on ? "Leave fullscreen (f)" : "Fill the screen (f, or double-click the picture)";
    this.applyLock();
  }

  private applyLock(): void {
    const want = this.active && this.controlling;
    const lock = keyboardLock();
    if (!lock || want === this.locked) return;
    this.locked = want;
    this.root.dataset.keyboardLocked = String(want);
    if (!want) return lock.unlock();
    lock.lock().catch(() => {
      // Refused (not fullscreen any more, or not allowed here): fullscreen goes on without it.
      this.locked = false;
      this.root.dataset.keyboardLocked = "false";
    });
  }
}

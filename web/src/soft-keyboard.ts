import { keyLine } from "./input-lines.js";
import { charKeysym, keysymFor } from "./keysym.js";

/** Keysyms of the modifier row's sticky keys (the left ones). */
const MODIFIERS: Readonly<Record<string, number>> = { Control: 0xffe3, Alt: 0xffe9, Shift: 0xffe1 };
const BACKSPACE = 0xff08;
const RETURN = 0xff0d;

/** Whether this browser's main pointer is a finger (phones, tablets, touch screens). */
export function touchScreen(): boolean {
  return matchMedia("(pointer: coarse)").matches || navigator.maxTouchPoints > 0;
}

/**
 * A phone's way to type on the device while it controls it: a keyboard
 * button that opens the soft keyboard (a text field out of sight takes what
 * is typed, and each character goes to the device as a key press), and a row
 * of the keys phones lack: Ctrl, Alt and Shift latch for the next key (tap
 * again to let go), Esc, Tab and the arrows press at once.
 */
export class SoftKeyboard {
  private readonly latched = new Set<string>();
  private active = false;

  constructor(
    private readonly row: HTMLElement,
    private readonly field: HTMLTextAreaElement,
    private readonly button: HTMLButtonElement,
    private readonly send: (line: string) => void,
  ) {
    button.addEventListener("click", () => {
      // Focusing a text field from a tap is what opens a phone's keyboard.
      field.value = "";
      field.focus({ preventScroll: true });
    });
    // Typed text: words come at once from autocorrecting keyboards (composition), letters one by one from others.
    field.addEventListener("beforeinput", (e) => this.beforeInput(e));
    field.addEventListener("compositionend", (e) => this.type(e.data));
    // What was typed has been sent: the field stays empty, except while a word is being composed.
    field.addEventListener("input", (e) => (e as InputEvent).isComposing || (field.value = ""));
    for (const key of row.querySelectorAll<HTMLButtonElement>("button[data-key]")) {
      // pointerdown keeps the focus (and the soft keyboard) where it is.
      key.addEventListener("pointerdown", (e) => e.preventDefault());
      key.addEventListener("click", () => this.tap(key));
    }
    this.setActive(false);
  }

  /** Shown while this viewer controls the device on a touch screen. */
  setActive(on: boolean): void {
    this.active = on && touchScreen();
    this.row.hidden = this.button.hidden = !this.active;
    if (!this.active) {
      this.unlatch();
      this.field.blur();
    }
  }

  private beforeInput(e: InputEvent): void {
    if (!this.active) return;
    switch (e.inputType) {
      case "insertText":
      case "insertReplacementText":
        if (e.data) this.type(e.data);
        break;
      case "insertLineBreak":
      case "insertParagraph":
        this.press(RETURN);
        break;
      case "deleteContentBackward":
        this.press(BACKSPACE);
        break;
      default:
        // insertCompositionText: the word arrives whole at compositionend.
        return;
    }
    e.preventDefault();
  }

  /** Each character of `text` as a key press on the device. */
  private type(text: string): void {
    if (!this.active) return;
    for (const ch of text) {
      const keysym = ch === "\n" ? RETURN : charKeysym(ch);
      if (keysym !== undefined) this.press(keysym);
    }
  }

  /** A key of the row: a modifier latches (or lets go); any other key presses at once, with the latched modifiers. */
  private tap(key: HTMLButtonElement): void {
    if (!this.active) return;
    const name = key.dataset.key ?? "";
    if (MODIFIERS[name] !== undefined) {
      if (this.latched.has(name)) this.latched.delete(name);
      else this.latched.add(name);
      key.setAttribute("aria-pressed", String(this.latched.has(name)));
      return;
    }
    const keysym = keysymFor(name);
    if (keysym !== undefined) this.press(keysym);
  }

  /** Down and up of one key, inside the latched modifiers, which then let go. */
  private press(keysym: number): void {
    const mods = [...this.latched].map((m) => MODIFIERS[m]);
    for (const m of mods) this.send(keyLine(true, m));
    this.send(keyLine(true, keysym));
    this.send(keyLine(false, keysym));
    for (const m of mods.reverse()) this.send(keyLine(false, m));
    this.unlatch();
  }

  private unlatch(): void {
    this.latched.clear();
    for (const key of this.row.querySelectorAll<HTMLButtonElement>("button[data-key]")) {
      if (MODIFIERS[key.dataset.key ?? ""] !== undefined) key.setAttribute("aria-pressed", "false");
    }
  }
}

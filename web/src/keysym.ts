/**
 * Browser keyboard events → X11 keysyms, and the bookkeeping that keeps key
 * downs and ups paired. Pure: no DOM, so e2e/keysym.test.ts runs it under node.
 */

/** X11 keysyms of named keys, by KeyboardEvent.key (modifiers are told apart by `code`, below). */
const NAMED: Readonly<Record<string, number>> = {
  Backspace: 0xff08,
  Tab: 0xff09,
  Enter: 0xff0d,
  Pause: 0xff13,
  ScrollLock: 0xff14,
  Escape: 0xff1b,
  Home: 0xff50,
  ArrowLeft: 0xff51,
  ArrowUp: 0xff52,
  ArrowRight: 0xff53,
  ArrowDown: 0xff54,
  PageUp: 0xff55,
  PageDown: 0xff56,
  End: 0xff57,
  PrintScreen: 0xff61,
  Insert: 0xff63,
  ContextMenu: 0xff67,
  NumLock: 0xff7f,
  CapsLock: 0xffe5,
  Delete: 0xffff,
  AltGraph: 0xfe03, // ISO_Level3_Shift
};

/** Modifiers by KeyboardEvent.code, so left and right differ. */
const MODIFIERS: Readonly<Record<string, number>> = {
  ShiftLeft: 0xffe1,
  ShiftRight: 0xffe2,
  ControlLeft: 0xffe3,
  ControlRight: 0xffe4,
  AltLeft: 0xffe9,
  AltRight: 0xffea,
  MetaLeft: 0xffeb, // Super_L
  MetaRight: 0xffec, // Super_R
  OSLeft: 0xffeb,
  OSRight: 0xffec,
};

/** Modifier keys by `key`, for events whose `code` is unknown (virtual keyboards). */
const MODIFIER_KEYS: Readonly<Record<string, number>> = {
  Shift: 0xffe1,
  Control: 0xffe3,
  Alt: 0xffe9,
  Meta: 0xffeb,
  OS: 0xffeb,
};

/** Keypad keys that have their own keysyms, by `code`. */
const KEYPAD: Readonly<Record<string, number>> = { NumpadEnter: 0xff8d };

const F1 = 0xffbe;

/**
 * The keysym of a key event from its `key` (the character or key name) and
 * `code` (the physical key); undefined for keys with no keysym (dead keys,
 * "Unidentified", IME composition).
 */
export function keysymFor(key: string, code = ""): number | undefined {
  const modifier = MODIFIERS[code] ?? MODIFIER_KEYS[key];
  if (modifier !== undefined && key !== "AltGraph") return modifier;
  const keypad = KEYPAD[code];
  if (keypad !== undefined) return keypad;
  const named = NAMED[key];
  if (named !== undefined) return named;
  const f = /^F([1-9]|1[0-2])$/.exec(key);
  if (f) return F1 + Number(f[1]) - 1;
  return charKeysym(key);
}

/**
 * The keysym of a single character: Latin-1 printable characters are their
 * code point, every other character 0x01000000 + code point. Undefined for
 * strings that are not exactly one character, and for control characters.
 */
export function charKeysym(text: string): number | undefined {
  const cp = text.codePointAt(0);
  if (cp === undefined || String.fromCodePoint(cp) !== text) return undefined;
  if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return undefined;
  return cp <= 0xff ? cp : 0x01000000 + cp;
}

/**
 * Which keysym each physical key sent when it went down. A key's `key` can
 * change while it is held (press Shift, press A, release Shift, release A:
 * down "A", up "a"), so the up repeats the keysym of the down; otherwise the
 * device would keep "A" pressed.
 */
export class PressedKeys {
  private readonly byCode = new Map<string, number>();

  /** Records a key down; returns the keysym to send, or undefined to send nothing. */
  down(key: string, code: string): number | undefined {
    const keysym = this.byCode.get(code || key) ?? keysymFor(key, code);
    if (keysym !== undefined) this.byCode.set(code || key, keysym);
    return keysym;
  }

  /** Records a key up; returns the keysym its down sent (or its own, when the down went unseen). */
  up(key: string, code: string): number | undefined {
    const id = code || key;
    const keysym = this.byCode.get(id) ?? keysymFor(key, code);
    this.byCode.delete(id);
    return keysym;
  }

  /** Forgets every key (after sending `kr`). */
  clear(): void {
    this.byCode.clear();
  }

  /** How many keys are down. */
  get size(): number {
    return this.byCode.size;
  }
}

/**
 * The X keyboard mapping seen from the injector's side: which keycode types a
 * keysym, and which spare keycode to borrow for one the keyboard lacks. Pure:
 * it decides, the caller sends the X requests.
 */

/** Where a keysym is on the keyboard: its keycode, and whether Shift must be held for it. */
export interface KeyPlacement {
  keycode: number;
  shift: boolean;
}

/** A keycode to point at a new keysym with ChangeKeyboardMapping: `keysyms` is its whole row. */
export interface KeyRemap {
  keycode: number;
  keysyms: number[];
}

/** How many spare keycodes are borrowed at most; the least recently used one is reused after that. */
export const MAX_REMAPPED = 10;

/**
 * Keysym → keycode lookups over the core keyboard mapping (GetKeyboardMapping
 * rows, one per keycode from `minKeycode`). A keysym the keyboard lacks (é on
 * a US layout, any Unicode keysym) gets a spare keycode, one with no keysyms at
 * all, as xdotool does; the few borrowed ones are kept in LRU order.
 */
export class Keymap {
  private rows: number[][] = [];
  /** Unused keycodes with no keysyms, borrowed from the end. */
  private spare: number[] = [];
  /** keysym → borrowed keycode, least recently used first. */
  private readonly remapped = new Map<number, number>();

  constructor(
    private readonly minKeycode: number,
    rows: number[][],
  ) {
    this.reload(rows);
  }

  /** Keysyms per keycode in the mapping (the row width ChangeKeyboardMapping takes). */
  get width(): number {
    return this.rows[0]?.length ?? 2;
  }

  /** The keycodes borrowed so far, to hand back (map to nothing) at close. */
  get borrowed(): number[] {
    return [...this.remapped.values()];
  }

  /**
   * Takes a fresh mapping (after a MappingNotify). Borrowed keycodes that still
   * carry their keysym stay borrowed; ones someone else changed are forgotten.
   */
  reload(rows: number[][]): void {
    this.rows = rows.map((r) => [...r]);
    for (const [keysym, keycode] of this.remapped) {
      if (this.rows[keycode - this.minKeycode]?.[0] !== keysym) this.remapped.delete(keysym);
    }
    const borrowed = new Set(this.remapped.values());
    this.spare = [];
    this.rows.forEach((row, i) => {
      const keycode = i + this.minKeycode;
      if (row.every((k) => k === 0) && !borrowed.has(keycode)) this.spare.push(keycode);
    });
  }

  /** The keycode for `keysym`: unshifted (column 0) when any key has it there, else shifted (column 1); undefined when absent. */
  find(keysym: number): KeyPlacement | undefined {
    for (const shift of [false, true]) {
      const i = this.rows.findIndex((row) => row[shift ? 1 : 0] === keysym);
      if (i < 0) continue;
      const keycode = i + this.minKeycode;
      if (this.remapped.get(keysym) === keycode) {
        this.remapped.delete(keysym);
        this.remapped.set(keysym, keycode);
      }
      return { keycode, shift };
    }
    return undefined;
  }

  /**
   * Borrows a keycode for `keysym` (which find() did not place): a never-used
   * spare, or else the least recently used borrowed keycode that is not in
   * `busy` (held down). Records the new row; undefined when nothing is free.
   */
  remap(keysym: number, busy: ReadonlySet<number>): KeyRemap | undefined {
    let keycode: number | undefined;
    if (this.remapped.size < MAX_REMAPPED) keycode = this.spare.pop();
    if (keycode === undefined) {
      for (const [oldKeysym, oldKeycode] of this.remapped) {
        if (busy.has(oldKeycode)) continue;
        this.remapped.delete(oldKeysym);
        keycode = oldKeycode;
        break;
      }
    }
    if (keycode === undefined) return undefined;
    const keysyms = new Array<number>(this.width).fill(0);
    keysyms[0] = keysym;
    if (keysyms.length > 1) keysyms[1] = keysym;
    this.rows[keycode - this.minKeycode] = keysyms;
    this.remapped.set(keysym, keycode);
    return { keycode, keysyms };
  }
}

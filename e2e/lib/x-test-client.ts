/**
 * A plain X client for tests of what reaches a display: one full-screen
 * window at 0,0 that records the input events it gets, and reads the
 * keyboard mapping back.
 */
import x11, { type XClient, type XDisplay, type XEvent } from "x11";

/** Core event types. */
export const KEY_PRESS = 2;
export const KEY_RELEASE = 3;
export const BUTTON_PRESS = 4;
export const BUTTON_RELEASE = 5;
/** The Shift bit of an event's state. */
export const SHIFT_MASK = 1;

/** A plain X client: one full-screen window at 0,0 recording the input events it gets. */
export class TestClient {
  readonly events: XEvent[] = [];

  private constructor(
    readonly X: XClient,
    readonly d: XDisplay,
    readonly window: number,
  ) {
    X.on("event", (ev: XEvent) => this.events.push(ev));
  }

  static async open(display: string): Promise<TestClient> {
    const { X, d } = await new Promise<{ X: XClient; d: XDisplay }>((resolve, reject) => {
      const X = x11.createClient({ display, shm: false }, (err, d) => (err ? reject(err) : resolve({ X, d })));
      X.on("error", (err: Error) => reject(err));
    });
    const screen = d.screen[0];
    const window = X.AllocID();
    const em = x11.eventMask;
    X.CreateWindow(window, screen.root, 0, 0, screen.pixel_width, screen.pixel_height, 0, 0, 1, 0, {
      backgroundPixel: screen.white_pixel,
      eventMask: em.KeyPress | em.KeyRelease | em.ButtonPress | em.ButtonRelease | em.PointerMotion,
    });
    X.MapWindow(window);
    X.SetInputFocus(window, 1);
    await X.sync();
    return new TestClient(X, d, window);
  }

  of(type: number): XEvent[] {
    return this.events.filter((e) => e.type === type);
  }

  /** The keysyms of `keycode` in the keyboard mapping as it is now. */
  async keysyms(keycode: number): Promise<number[]> {
    return new Promise((resolve, reject) =>
      this.X.GetKeyboardMapping(keycode, 1, (err, rows) => {
        if (err) reject(err);
        else resolve(rows[0]);
        return true;
      }),
    );
  }

  /** Gives the window a glyph cursor from the standard "cursor" font. */
  async defineGlyphCursor(glyph: number): Promise<void> {
    const font = this.X.AllocID();
    const cursor = this.X.AllocID();
    this.X.OpenFont(font, "cursor");
    this.X.CreateGlyphCursor(cursor, font, font, glyph, glyph + 1, { R: 0, G: 0, B: 0 }, { R: 0xffff, G: 0xffff, B: 0xffff });
    this.X.ChangeWindowAttributes(this.window, { cursor });
    await this.X.sync();
  }

  close(): void {
    this.X.terminate();
  }
}

/**
 * A real X11 desktop driven over one X connection (the pure-JS `x11`
 * client): viewers' input lines become XTEST input, the displayed cursor is
 * reported as PNGs, the CLIPBOARD goes both ways, and the screen can be
 * resized through RandR.
 */
import x11 from "x11";
import type { XClient, XDamage, XDisplay, XError, XEvent, XFixes, XTest } from "x11";
import { SafeEmitter } from "../events.js";
import { checkInputLine } from "../input/lines.js";
import type { Logger } from "../log.js";
import { ImageAssembler } from "../protocol/clipboard-image.js";
import { ClipboardBridge, clipboardAtoms, type ClipboardAtoms, type ClipboardContent } from "./clipboard.js";
import { CursorTracker, type CursorShape } from "./cursor.js";
import { XTestInjector } from "./injector.js";
import { Keymap } from "./keymap.js";
import { RandrResizer, type ScreenSize } from "./randr.js";

export type { CursorShape } from "./cursor.js";
export type { ScreenSize } from "./randr.js";

/** Events of an X11Desktop. */
export interface X11DesktopEvents {
  /** The displayed cursor changed (also sent once right after connecting). */
  cursor: [CursorShape];
  /** Another X client put text or a PNG on the CLIPBOARD. */
  clipboard: [content: ClipboardContent];
  /** The root window's size changed (through resize() or anyone else's RandR change); once per actual change. */
  resized: [size: { width: number; height: number }];
  /** The connection is gone (X server lost, or close()); sent once. */
  closed: [reason: string];
  /** The screen's contents changed (XDamage on the root; not pointer moves, which the picture does not carry). */
  damaged: [];
}

/** How long connect() waits for the server, its extensions and the first replies. */
export const CONNECT_TIMEOUT_MS = 10_000;

/** Core event types the desktop itself handles. */
const CONFIGURE_NOTIFY = 22;
const MAPPING_NOTIFY = 34;
const MAPPING_KEYBOARD = 1;
const INPUT_ONLY = 2;

/** Where a lost connection is reported: connect()'s rejection until the desktop exists, then the desktop. */
type LossSink = (reason: string) => void;

function requireExt<T extends XTest | XFixes>(X: XClient, name: "xtest" | "fixes", display: string): Promise<T> {
  const label = name === "xtest" ? "XTEST" : "XFIXES";
  return new Promise((resolve, reject) =>
    X.require<T>(name, (err, ext) => (err ? reject(new Error(`X display ${display} has no ${label} extension (${err.message})`)) : resolve(ext))),
  );
}

function keyboardRows(X: XClient, d: XDisplay): Promise<number[][]> {
  return new Promise((resolve, reject) =>
    X.GetKeyboardMapping(d.min_keycode, d.max_keycode - d.min_keycode + 1, (err, rows) => {
      if (err) reject(new Error(`GetKeyboardMapping failed: ${err.message}`));
      else resolve(rows);
      return true;
    }),
  );
}

/** Ends the connection; a socket that is already gone (or never came up) is fine. */
function endClient(X: XClient): void {
  try {
    X.terminate();
  } catch {
    // Nothing left to end.
  }
}

/**
 * Opens the connection (handing the client to `track` at once, so a timeout can end it); every later loss (socket
 * end, socket error) goes to `lost()`'s current sink.
 */
function open(display: string, log: Logger, lost: () => LossSink, track: (X: XClient) => void): Promise<{ X: XClient; d: XDisplay }> {
  return new Promise((resolve, reject) => {
    let X: XClient;
    try {
      X = x11.createClient({ display, shm: false }, (err, d) => {
        if (err) reject(new Error(`cannot connect to X display ${display}: ${err.message}`));
        else resolve({ X, d });
      });
      track(X);
    } catch (err) {
      reject(new Error(`cannot connect to X display ${display}: ${err instanceof Error ? err.message : String(err)}`));
      return;
    }
    X.on("error", (err: XError) => {
      // Protocol errors carry an X error code; anything else is the socket failing.
      if (typeof err.error === "number") log.debug("X request failed", { err, code: err.error, major: err.majorOpcode, minor: err.minorOpcode });
      else lost()(`X connection error: ${err.message}`);
    });
    X.on("end", () => lost()("X server closed the connection"));
  });
}

/**
 * One X display as a Tessera desktop. Input goes in with inject(); the cursor
 * and the clipboard come out as events. Nothing thrown reaches the caller
 * after connect(): bad lines return false, X errors are logged, and a lost
 * server ends in one 'closed' event after which every method is a no-op.
 */
export class X11Desktop extends SafeEmitter<X11DesktopEvents> {
  private ended = false;
  private width: number;
  private height: number;
  private readonly injector: XTestInjector;
  private readonly cursor: CursorTracker;
  private readonly clipboard: ClipboardBridge;
  /** Joins the parts of a viewer's clipboard picture (`ci` lines). */
  private readonly images = new ImageAssembler();
  private readonly resizer: RandrResizer;
  private readonly root: number;
  /** Our DAMAGE object on the root, when the server has the extension. */
  private readonly damage: { ext: XDamage; id: number; eventType: number } | undefined;
  /** Settles at shutdown, so a resize waiting on a server that went away ends at once. */
  private readonly gone: Promise<undefined>;
  private markGone: () => void = () => undefined;

  private constructor(
    private readonly X: XClient,
    d: XDisplay,
    xtest: XTest,
    fixes: XFixes,
    private readonly keymap: Keymap,
    window: number,
    atoms: ClipboardAtoms,
    private readonly log: Logger,
    damage: XDamage | undefined,
  ) {
    super();
    const screen = d.screen[0];
    this.root = screen.root;
    this.width = screen.pixel_width;
    this.height = screen.pixel_height;
    this.injector = new XTestInjector(X, xtest, screen.root, keymap, log);
    this.cursor = new CursorTracker(
      fixes,
      screen.root,
      log,
      (shape) => this.emit("cursor", shape),
      () => !this.closed,
    );
    this.clipboard = new ClipboardBridge(X, fixes, window, atoms, log, (content) => this.emit("clipboard", content));
    this.resizer = new RandrResizer(X, screen.root, log);
    this.gone = new Promise((resolve) => (this.markGone = () => resolve(undefined)));
    if (damage) {
      const id = X.AllocID();
      damage.Create(id, screen.root, damage.ReportLevel.NonEmpty);
      this.damage = { ext: damage, id, eventType: damage.firstEvent + damage.events.DamageNotify };
    }
    X.on("event", (ev: XEvent) => this.event(ev, screen.root));
  }

  /** Connects to `display` (e.g. ":0"); rejects with a clear Error when the display or XTEST is missing. */
  static async connect(display: string, log: Logger): Promise<X11Desktop> {
    let sink: LossSink = () => undefined;
    let timer: NodeJS.Timeout | undefined;
    let client: XClient | undefined;
    const setup = async (): Promise<X11Desktop> => {
      const { X, d } = await open(
        display,
        log,
        () => sink,
        (X) => (client = X),
      );
      const xtest = await requireExt<XTest>(X, "xtest", display);
      const fixes = await requireExt<XFixes>(X, "fixes", display);
      // Optional: without DAMAGE the capture simply never idles.
      const damage = await new Promise<XDamage | undefined>((resolve) => X.require<XDamage>("damage", (err, ext) => resolve(err ? undefined : ext)));
      const [rows, atoms] = await Promise.all([keyboardRows(X, d), clipboardAtoms(X)]);
      const root = d.screen[0].root;
      const window = X.AllocID();
      X.CreateWindow(window, root, -1, -1, 1, 1, 0, 0, INPUT_ONLY, 0, {});
      X.ChangeWindowAttributes(root, { eventMask: x11.eventMask.StructureNotify });
      const desktop = new X11Desktop(X, d, xtest, fixes, new Keymap(d.min_keycode, rows), window, atoms, log, damage);
      // Every request so far was accepted before the desktop is handed out.
      await X.sync();
      // The first cursor is asked for only now, so its event reaches listeners attached right after connect() resolves.
      desktop.cursor.notify();
      return desktop;
    };
    try {
      const desktop = await Promise.race([
        setup(),
        new Promise<never>((_, reject) => {
          sink = (reason) => reject(new Error(`X display ${display}: ${reason}`));
          timer = setTimeout(() => reject(new Error(`X display ${display} did not answer within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
        }),
      ]);
      sink = (reason) => desktop.shutdown(reason);
      log.info("X11 desktop connected", { display, width: desktop.width, height: desktop.height });
      return desktop;
    } catch (err) {
      sink = () => undefined;
      if (client) endClient(client);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The root window's size now (follows RandR resizes through the root's ConfigureNotify). */
  get size(): { width: number; height: number } {
    return { width: this.width, height: this.height };
  }

  /**
   * Changes the screen's size through RandR (as `xrandr --fb WxH --output OUT --mode M` would), clamped to the
   * server's size range and to even numbers; a mode of that size is found or created (`tessera-WxH`, the previous
   * one of ours is destroyed). Resolves with the size in effect afterwards, or undefined when RandR is missing or the
   * server refuses; never rejects. Calls run one after another. (Xvfb's range ends at its starting size: it only
   * shrinks. TigerVNC's Xvnc goes both ways.)
   */
  resize(width: number, height: number): Promise<ScreenSize | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    return Promise.race([this.resizer.resize(width, height), this.gone]).then((size) => (this.closed ? undefined : size));
  }

  /** Where the pointer is on the screen now (one round trip), or undefined when the desktop is gone. */
  pointer(): Promise<{ x: number; y: number } | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    const asked = new Promise<{ x: number; y: number } | undefined>((resolve) =>
      this.X.QueryPointer(this.root, (err, p) => {
        resolve(err ? undefined : { x: p.rootX, y: p.rootY });
        return true;
      }),
    );
    return Promise.race([asked, this.gone]);
  }

  /** True when `damaged` events come (the X server has DAMAGE). */
  get tracksDamage(): boolean {
    return this.damage !== undefined;
  }

  /** True once the connection is gone. */
  get closed(): boolean {
    return this.ended;
  }

  /**
   * One input line → X events through XTEST (FakeInput), no process per event.
   * Returns false when the line was not understood (or the desktop is closed).
   * `r,WxH` is understood but ignored here: whether a viewer may resize is the caller's business (see resize()).
   */
  inject(line: string): boolean {
    if (this.closed) return false;
    const verdict = checkInputLine(line, this.size);
    if (!verdict.ok) return false;
    const f = line.split(",");
    try {
      switch (verdict.kind) {
        case "pointer":
          if (f[0] === "m2") this.injector.relative(Number(f[1]), Number(f[2]), Number(f[3]), Number(f[4]));
          else this.injector.pointer(Number(f[1]), Number(f[2]), Number(f[3]), Number(f[4]));
          break;
        case "key":
          if (f[0] === "kd") this.injector.keyDown(Number(f[1]));
          else this.injector.keyUp(Number(f[1]));
          break;
        case "release_all":
          this.injector.releaseAll();
          break;
        case "clipboard":
          if (f[0] === "cw") this.clipboard.set({ text: Buffer.from(f[1], "base64").toString("utf8") });
          else {
            const png = this.images.add(Number(f[1]), Number(f[2]), f[3]);
            if (png !== undefined) this.clipboard.set({ png: Buffer.from(png, "base64") });
          }
          break;
        case "touch":
          this.injector.touch(f[1], Number(f[2]), Number(f[3]), Number(f[4]));
          break;
        case "resize":
          break;
      }
      return true;
    } catch (err) {
      this.log.warn("input line not injected", { err, kind: verdict.kind });
      return false;
    }
  }

  /** Releases every key and button this desktop's injector holds (same as `kr`). */
  releaseAll(): void {
    if (this.closed) return;
    this.guard("releaseAll", () => this.injector.releaseAll());
  }

  /** Sets the CLIPBOARD (and PRIMARY) selection to text, owned by our own window, answering SelectionRequest for UTF8_STRING, STRING, TEXT and TARGETS. */
  setClipboard(text: string): void {
    if (this.closed || typeof text !== "string") return;
    this.guard("setClipboard", () => this.clipboard.set({ text }));
  }

  /** Releases what is held, gives borrowed keycodes back and disconnects; emits 'closed' ("closed"). */
  close(): void {
    if (this.closed) return;
    this.guard("close", () => {
      this.injector.releaseAll();
      for (const keycode of this.keymap.borrowed) this.X.ChangeKeyboardMapping(keycode, this.keymap.width, new Array<number>(this.keymap.width).fill(0));
    });
    this.shutdown("closed");
  }

  private shutdown(reason: string): void {
    if (this.closed) return;
    this.ended = true;
    this.markGone();
    endClient(this.X);
    if (reason !== "closed") this.log.warn("X11 desktop lost", { reason });
    this.emit("closed", reason);
  }

  private guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.warn(`${what} failed`, { err });
    }
  }

  private event(ev: XEvent, root: number): void {
    if (this.closed) return;
    this.guard("X event handling", () => {
      if (this.damage && ev.type === this.damage.eventType) {
        // Repaired at once: the next change sends the next DamageNotify.
        this.damage.ext.Subtract(this.damage.id, 0, 0);
        this.emit("damaged");
      } else if (ev.type === this.cursor.eventType) this.cursor.notify(ev.cursorSerial);
      else if (ev.type === CONFIGURE_NOTIFY && ev.wid1 === root && ev.width && ev.height) {
        if (ev.width === this.width && ev.height === this.height) return;
        this.width = ev.width;
        this.height = ev.height;
        this.emit("resized", { width: ev.width, height: ev.height });
      } else if (ev.type === MAPPING_NOTIFY && ev.request === MAPPING_KEYBOARD) this.mappingChanged(ev.firstKeyCode ?? 0, ev.count ?? 0);
      else this.clipboard.handle(ev);
    });
  }

  /** Someone else changed the keyboard mapping: read it again (our own remaps are already known). */
  private mappingChanged(first: number, count: number): void {
    if (this.injector.ownMappingChange(first, count)) return;
    keyboardRows(this.X, this.X.display).then(
      (rows) => {
        if (!this.closed) this.keymap.reload(rows);
      },
      (err: Error) => this.log.debug("keyboard mapping not reloaded", { err }),
    );
  }
}

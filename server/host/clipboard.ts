/**
 * The desktop's CLIPBOARD both ways, through a window of our own: text from
 * viewers is offered as the CLIPBOARD and PRIMARY selections, and whenever
 * another client takes CLIPBOARD (XFIXES tells us) its text is fetched.
 */
import type { XClient, XEvent, XFixes } from "x11";
import { MAX_CLIPBOARD_BYTES } from "../input/lines.js";
import type { Logger } from "../log.js";

/** Predefined atoms (X11 protocol, Appendix B). */
const ATOM = 4;
const PRIMARY = 1;
const STRING = 31;
/** Core event types. */
const SELECTION_CLEAR = 29;
const SELECTION_REQUEST = 30;
const SELECTION_NOTIFY = 31;

/** The atoms a clipboard conversation needs; PROPERTY is where the text we ask for lands on our window. */
const ATOM_NAMES = ["CLIPBOARD", "UTF8_STRING", "TARGETS", "TEXT", "INCR", "TESSERA_CLIPBOARD"] as const;
/** The atoms ClipboardBridge uses, interned on its connection by clipboardAtoms(). */
export type ClipboardAtoms = Record<(typeof ATOM_NAMES)[number], number>;

function intern(X: XClient, name: string): Promise<number> {
  return new Promise((resolve, reject) =>
    X.InternAtom(false, name, (err, atom) => {
      if (err) reject(new Error(`InternAtom ${name} failed: ${err.message}`));
      else resolve(atom);
      return true;
    }),
  );
}

/** Interns the atoms a ClipboardBridge needs on `X`. */
export async function clipboardAtoms(X: XClient): Promise<ClipboardAtoms> {
  const values = await Promise.all(ATOM_NAMES.map((name) => intern(X, name)));
  return Object.fromEntries(ATOM_NAMES.map((name, i) => [name, values[i]])) as ClipboardAtoms;
}

/**
 * Owns and reads selections for one connection. Events reach it through
 * handle(); text fetched from another owner goes to `report` (UTF-8, at most
 * MAX_CLIPBOARD_BYTES; larger or INCR transfers are skipped).
 */
export class ClipboardBridge {
  /** The text we offer while we own a selection. */
  private text: string | undefined;
  private readonly owned = new Set<number>();

  /** `window` is ours, unmapped: it owns the selections and receives the conversions. */
  constructor(
    private readonly X: XClient,
    private readonly fixes: XFixes,
    private readonly window: number,
    private readonly atoms: ClipboardAtoms,
    private readonly log: Logger,
    private readonly report: (text: string) => void,
  ) {
    fixes.SelectSelectionInput(window, atoms.CLIPBOARD, fixes.SelectionEventMask.SetSelectionOwner);
  }

  /** Takes CLIPBOARD and PRIMARY with `text` (oversized text is refused with a log line). */
  set(text: string): void {
    if (Buffer.byteLength(text) > MAX_CLIPBOARD_BYTES) {
      this.log.warn("clipboard text too long, not set", { bytes: Buffer.byteLength(text) });
      return;
    }
    this.text = text;
    for (const selection of [this.atoms.CLIPBOARD, PRIMARY]) {
      this.X.SetSelectionOwner(this.window, selection, 0);
      this.owned.add(selection);
    }
  }

  /** Acts on an event of the clipboard conversation; other events are ignored. */
  handle(ev: XEvent): void {
    if (ev.type === this.fixes.firstEvent + this.fixes.events.SelectionNotify) {
      // Someone else took CLIPBOARD (our own setClipboard is not news).
      if (ev.subtype === this.fixes.SelectionEvent.SetSelectionOwner && ev.selection === this.atoms.CLIPBOARD && ev.owner && ev.owner !== this.window) {
        this.convert(this.atoms.UTF8_STRING);
      }
    } else if (ev.type === SELECTION_REQUEST) {
      this.answer(ev);
    } else if (ev.type === SELECTION_NOTIFY) {
      if (ev.requestor === this.window && ev.selection === this.atoms.CLIPBOARD) this.received(ev);
    } else if (ev.type === SELECTION_CLEAR && ev.selection !== undefined) {
      this.owned.delete(ev.selection);
      if (this.owned.size === 0) this.text = undefined;
    }
  }

  private convert(target: number): void {
    this.X.ConvertSelection(this.window, this.atoms.CLIPBOARD, target, this.atoms.TESSERA_CLIPBOARD, 0);
  }

  /** The owner answered our ConvertSelection: read the property (deleting it) or fall back to STRING once. */
  private received(ev: XEvent): void {
    if (!ev.property) {
      if (ev.target === this.atoms.UTF8_STRING) this.convert(STRING);
      return;
    }
    const prop = this.atoms.TESSERA_CLIPBOARD;
    this.X.GetProperty(1, this.window, prop, 0, 0, Math.ceil(MAX_CLIPBOARD_BYTES / 4), (err, reply) => {
      if (err) {
        this.log.debug("clipboard property unreadable", { err });
        return true;
      }
      if (reply.type === this.atoms.INCR || reply.bytesAfter > 0 || reply.data.length > MAX_CLIPBOARD_BYTES) {
        // Too large for a viewer's clipboard: drop it (the delete-on-read only happens for a complete read).
        this.X.DeleteProperty(this.window, prop);
        this.log.debug("clipboard text too large, skipped", { incr: reply.type === this.atoms.INCR });
        return true;
      }
      this.report(reply.data.toString(reply.type === STRING ? "latin1" : "utf8"));
      return true;
    });
  }

  /** Another client asks for our selection: write the property on its window and tell it (SelectionNotify). */
  private answer(ev: XEvent): void {
    const { requestor, selection, target } = ev;
    if (requestor === undefined || selection === undefined || target === undefined) return;
    // An obsolete requestor may leave the property None: use the target's name then (ICCCM 2.2).
    let property = ev.property || target;
    const text = this.owned.has(selection) ? this.text : undefined;
    const { TARGETS, UTF8_STRING, TEXT } = this.atoms;
    if (text === undefined) property = 0;
    else if (target === TARGETS) this.X.ChangeProperty(0, requestor, property, ATOM, 32, [TARGETS, UTF8_STRING, STRING, TEXT]);
    else if (target === UTF8_STRING || target === TEXT) this.X.ChangeProperty(0, requestor, property, UTF8_STRING, 8, Buffer.from(text, "utf8"));
    else if (target === STRING) this.X.ChangeProperty(0, requestor, property, STRING, 8, Buffer.from(text.replace(/[\u{100}-\u{10ffff}]/gu, "?"), "latin1"));
    else property = 0;
    this.X.SendEvent(requestor, 0, 0, { name: "SelectionNotify", time: ev.time ?? 0, requestor, selection, target, property });
  }
}

/**
 * The desktop's CLIPBOARD both ways, through a window of our own: text or a
 * PNG from viewers is offered as the CLIPBOARD and PRIMARY selections, and
 * whenever another client takes CLIPBOARD (XFIXES tells us) its content is
 * fetched: text (UTF8_STRING, else STRING), else a PNG (`image/png`).
 */
import type { XClient, XEvent, XFixes } from "x11";
import { MAX_CLIPBOARD_BYTES } from "../input/lines.js";
import type { Logger } from "../log.js";
import { CLIPBOARD_IMAGE_TYPE, clipboardImageMessages, isPng, MAX_CLIPBOARD_IMAGE_BYTES } from "../protocol/clipboard-image.js";
import type { DeviceMessage } from "../protocol/messages.js";

/** Predefined atoms (X11 protocol, Appendix B). */
const ATOM = 4;
const PRIMARY = 1;
const STRING = 31;
/** Core event types. */
const SELECTION_CLEAR = 29;
const SELECTION_REQUEST = 30;
const SELECTION_NOTIFY = 31;

/** The atoms a clipboard conversation needs; PROPERTY is where the text we ask for lands on our window. */
const ATOM_NAMES = ["CLIPBOARD", "UTF8_STRING", "TARGETS", "TEXT", "INCR", "TESSERA_CLIPBOARD", CLIPBOARD_IMAGE_TYPE] as const;
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

/** What a clipboard holds: text, or a PNG picture. */
export type ClipboardContent = { text: string } | { png: Buffer };

/** The device messages that tell viewers what the desktop's clipboard now holds (a picture in parts). */
export function clipboardMessages(content: ClipboardContent): DeviceMessage[] {
  return "text" in content ? [{ type: "clipboard", text: content.text }] : (clipboardImageMessages(content.png.toString("base64")) ?? []);
}

/**
 * Owns and reads selections for one connection. Events reach it through
 * handle(); what is fetched from another owner goes to `report` (text in
 * UTF-8 up to MAX_CLIPBOARD_BYTES, a PNG up to MAX_CLIPBOARD_IMAGE_BYTES;
 * larger or INCR transfers are skipped).
 */
export class ClipboardBridge {
  /** What we offer while we own a selection. */
  private content: ClipboardContent | undefined;
  private readonly owned = new Set<number>();

  /** `window` is ours, unmapped: it owns the selections and receives the conversions. */
  constructor(
    private readonly X: XClient,
    private readonly fixes: XFixes,
    private readonly window: number,
    private readonly atoms: ClipboardAtoms,
    private readonly log: Logger,
    private readonly report: (content: ClipboardContent) => void,
  ) {
    fixes.SelectSelectionInput(window, atoms.CLIPBOARD, fixes.SelectionEventMask.SetSelectionOwner);
  }

  /** Takes CLIPBOARD and PRIMARY with text or a PNG (oversized text, a large picture or one that is not a PNG is refused with a log line). */
  set(content: ClipboardContent): void {
    if ("text" in content && Buffer.byteLength(content.text) > MAX_CLIPBOARD_BYTES) {
      this.log.warn("clipboard text too long, not set", { bytes: Buffer.byteLength(content.text) });
      return;
    }
    if ("png" in content && (content.png.length > MAX_CLIPBOARD_IMAGE_BYTES || !isPng(content.png))) {
      this.log.warn("clipboard picture not set: not a PNG or too large", { bytes: content.png.length });
      return;
    }
    this.content = content;
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
      if (this.owned.size === 0) this.content = undefined;
    }
  }

  private convert(target: number): void {
    this.X.ConvertSelection(this.window, this.atoms.CLIPBOARD, target, this.atoms.TESSERA_CLIPBOARD, 0);
  }

  /**
   * The owner answered our ConvertSelection: read the property (deleting it),
   * or, refused, ask for the next target: UTF8_STRING, then STRING, then a
   * PNG. The property's type says what came (an owner may answer a text
   * target with its picture).
   */
  private received(ev: XEvent): void {
    const png = this.atoms[CLIPBOARD_IMAGE_TYPE];
    if (!ev.property) {
      if (ev.target === this.atoms.UTF8_STRING) this.convert(STRING);
      else if (ev.target === STRING) this.convert(png);
      return;
    }
    const prop = this.atoms.TESSERA_CLIPBOARD;
    this.X.GetProperty(1, this.window, prop, 0, 0, Math.ceil(MAX_CLIPBOARD_IMAGE_BYTES / 4), (err, reply) => {
      if (err) {
        this.log.debug("clipboard property unreadable", { err });
        return true;
      }
      const picture = reply.type === png;
      if (reply.type === this.atoms.INCR || reply.bytesAfter > 0 || reply.data.length > (picture ? MAX_CLIPBOARD_IMAGE_BYTES : MAX_CLIPBOARD_BYTES)) {
        // Too large for a viewer's clipboard: drop it (the delete-on-read only happens for a complete read).
        this.X.DeleteProperty(this.window, prop);
        this.log.debug("clipboard content too large, skipped", { incr: reply.type === this.atoms.INCR, picture });
        return true;
      }
      if (!picture) this.report({ text: reply.data.toString(reply.type === STRING ? "latin1" : "utf8") });
      else if (isPng(reply.data)) this.report({ png: Buffer.from(reply.data) });
      else this.log.debug("clipboard image/png is not a PNG, skipped");
      return true;
    });
  }

  /** Another client asks for our selection: write the property on its window and tell it (SelectionNotify). */
  private answer(ev: XEvent): void {
    const { requestor, selection, target } = ev;
    if (requestor === undefined || selection === undefined || target === undefined) return;
    // An obsolete requestor may leave the property None: use the target's name then (ICCCM 2.2).
    let property = ev.property || target;
    const content = this.owned.has(selection) ? this.content : undefined;
    const { TARGETS, UTF8_STRING, TEXT } = this.atoms;
    const png = this.atoms[CLIPBOARD_IMAGE_TYPE];
    if (content === undefined) property = 0;
    else if ("png" in content) {
      if (target === TARGETS) this.X.ChangeProperty(0, requestor, property, ATOM, 32, [TARGETS, png]);
      else if (target === png) this.X.ChangeProperty(0, requestor, property, png, 8, content.png);
      else property = 0;
    } else if (target === TARGETS) this.X.ChangeProperty(0, requestor, property, ATOM, 32, [TARGETS, UTF8_STRING, STRING, TEXT]);
    else if (target === UTF8_STRING || target === TEXT) this.X.ChangeProperty(0, requestor, property, UTF8_STRING, 8, Buffer.from(content.text, "utf8"));
    else if (target === STRING)
      this.X.ChangeProperty(0, requestor, property, STRING, 8, Buffer.from(content.text.replace(/[\u{100}-\u{10ffff}]/gu, "?"), "latin1"));
    else property = 0;
    this.X.SendEvent(requestor, 0, 0, { name: "SelectionNotify", time: ev.time ?? 0, requestor, selection, target, property });
  }
}

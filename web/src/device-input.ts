import type { DeviceMessage } from "../../server/protocol/messages.js";
import { fromStreamPixels } from "./coords.js";
import { byId, el, videoGeometry } from "./dom.js";
import type { FrameSize } from "./frame-size.js";
import { parseInputLine, pingNumber, type InputLine } from "./input-lines.js";

/** Lines shown on the page. */
const SHOWN = 20;
/** Lines kept for `window.tessera.inputLines`. */
const KEPT = 2000;

/** A short human reading of a line, next to it in the list. */
function describe(line: InputLine | undefined): string {
  if (!line) return "?";
  switch (line.kind) {
    case "pointer":
      return line.scroll ? `wheel ${line.scroll}` : line.buttons ? `buttons ${line.buttons}` : "pointer";
    case "key": {
      const char =
        line.keysym >= 0x20 && line.keysym <= 0xff
          ? String.fromCharCode(line.keysym)
          : line.keysym > 0x01000000
            ? String.fromCodePoint(line.keysym - 0x01000000)
            : "";
      return `${line.down ? "down" : "up"} ${char.trim() ? `'${char}'` : `0x${line.keysym.toString(16)}`}`;
    }
    case "release_all":
      return "release all keys";
    case "clipboard":
      return `clipboard (${line.text.length} chars)`;
    case "relative":
      return line.buttons ? `relative, buttons ${line.buttons}` : `relative ${line.dx},${line.dy}`;
    case "clipboard_image":
      return `clipboard picture, part ${line.part} of ${line.parts}`;
    case "resize":
      return `resize to ${line.width}×${line.height}`;
    case "touch":
      return `touch ${line.id} ${line.phase}`;
  }
}

/**
 * The device page's side of `input`: shows the lines viewers send (a list
 * and a dot over the preview where the pointer or a finger is), reports the
 * stream size, and sends state and clipboard messages to viewers.
 */
export class DeviceInputPanel {
  /** Every line received (up to KEPT), oldest first; tests read it. */
  readonly lines: string[] = [];
  private channel: RTCDataChannel | undefined;
  private size: FrameSize | undefined;
  private readonly list = byId("input-lines");
  private readonly dot = byId("pointer-dot");
  private readonly clipboardIn = byId("received-clipboard");
  private readonly clipboardOut = byId<HTMLInputElement>("clipboard-text");
  private readonly stage = byId("preview-stage");

  constructor(
    private readonly preview: HTMLVideoElement,
    /** The messages that describe the device now, sent whenever the channel opens. */
    private readonly current: () => DeviceMessage[],
  ) {
    byId<HTMLButtonElement>("send-clipboard").addEventListener("click", () => {
      this.send({ type: "clipboard", text: this.clipboardOut.value });
    });
  }

  /** The current connection's channel (or none). */
  setChannel(channel: RTCDataChannel | undefined): void {
    if (this.channel) this.channel.onmessage = this.channel.onopen = null;
    this.channel = channel;
    if (!channel) return;
    channel.onopen = () => {
      if (channel !== this.channel) return;
      for (const m of this.current()) this.send(m);
    };
    channel.onmessage = (ev) => {
      if (channel === this.channel && typeof ev.data === "string") this.receive(ev.data);
    };
  }

  /** The stream's size changed: tell viewers, and place the dot in the new scale. */
  setSize(size: FrameSize): void {
    this.size = size;
    this.send({ type: "resolution", width: size.width, height: size.height });
  }

  /** The size viewers' coordinates refer to, as last reported. */
  get streamSize(): FrameSize | undefined {
    return this.size;
  }

  /** Sends a message to viewers; false when the channel is not open. */
  send(message: DeviceMessage): boolean {
    const channel = this.channel;
    if (!channel || channel.readyState !== "open") return false;
    channel.send(JSON.stringify(message));
    return true;
  }

  /** Clears the list and the dot (publishing stopped). */
  clear(): void {
    this.size = undefined;
    this.lines.length = 0;
    this.list.replaceChildren();
    this.dot.hidden = true;
    this.clipboardIn.textContent = "";
  }

  private receive(text: string): void {
    // The holder measuring its round trip: answered at once, not shown.
    const ping = pingNumber(text);
    if (ping !== undefined) return void this.send({ type: "pong", n: ping });
    this.lines.push(text);
    if (this.lines.length > KEPT) this.lines.splice(0, this.lines.length - KEPT);
    const line = parseInputLine(text);
    const item = el("li");
    item.append(el("code", "", text.length > 60 ? `${text.slice(0, 59)}…` : text), el("span", "line-meaning", describe(line)));
    this.list.prepend(item);
    while (this.list.childElementCount > SHOWN) this.list.lastElementChild?.remove();
    if (line?.kind === "clipboard") this.clipboardIn.textContent = line.text;
    if (line?.kind === "pointer") this.showDot(line.x, line.y, line.buttons !== 0);
    if (line?.kind === "touch") this.showDot(line.x, line.y, line.phase === "start" || line.phase === "move");
  }

  /** Puts the dot over the preview at stream pixel (x, y). */
  private showDot(x: number, y: number, pressed: boolean): void {
    const size = this.size ?? { width: this.preview.videoWidth, height: this.preview.videoHeight };
    const { rect, fit } = videoGeometry(this.preview);
    const at = fromStreamPixels(x, y, rect, size.width, size.height, fit);
    if (!at) return;
    const stage = this.stage.getBoundingClientRect();
    this.dot.style.left = `${at.clientX - stage.left}px`;
    this.dot.style.top = `${at.clientY - stage.top}px`;
    this.dot.classList.toggle("pressed", pressed);
    this.dot.hidden = false;
  }
}

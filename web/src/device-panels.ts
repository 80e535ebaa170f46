import { base64Bytes, CLIPBOARD_IMAGE_TYPE, ImageAssembler } from "../../server/protocol/clipboard-image.js";
import type { DeviceMessage } from "../../server/protocol/messages.js";
import { byId, el } from "./dom.js";
import { stateEntries } from "./format.js";

/**
 * What the watched device tells its viewers, under the player: its `state`
 * fields as "key: value" chips (`#device-status .chip[data-key]`) and its
 * latest clipboard (`#device-clipboard`: text, or a picture that came in
 * parts) with a copy button. Every viewer sees these, controlling or not.
 */
export class DevicePanels {
  private readonly root = byId("device-status");
  private readonly chips = byId("device-state-chips");
  private readonly clipboard = byId("device-clipboard");
  private readonly clipboardText = byId("device-clipboard-text");
  private readonly clipboardImage = byId<HTMLImageElement>("device-clipboard-image");
  private readonly images = new ImageAssembler();
  private readonly copy = byId<HTMLButtonElement>("device-clipboard-copy");
  private _state: DeviceMessage | undefined;
  private _clipboard: { text: string } | { png: string } | undefined;

  constructor() {
    this.copy.addEventListener("click", () => {
      const content = this._clipboard;
      if (content === undefined) return;
      const copied =
        "text" in content
          ? navigator.clipboard.writeText(content.text)
          : // Made here from the base64: fetching the picture's data: URL is what the page's CSP (connect-src 'self') refuses.
            navigator.clipboard.write([
              new ClipboardItem({ [CLIPBOARD_IMAGE_TYPE]: new Blob([base64Bytes(content.png) ?? new Uint8Array(0)], { type: CLIPBOARD_IMAGE_TYPE }) }),
            ]);
      copied.then(
        () => this.flash("Copied"),
        () => this.flash("Copy refused"),
      );
    });
    this.clear();
  }

  /** The latest `state` message. */
  get state(): DeviceMessage | undefined {
    return this._state;
  }

  /** The device's latest clipboard: its text, or its picture's base64. */
  get clipboardValue(): { text: string } | { png: string } | undefined {
    return this._clipboard;
  }

  /** Shows a device message (state and clipboard; others are not shown here). */
  show(message: DeviceMessage): void {
    if (message.type === "state") {
      this._state = message;
      const chips = stateEntries(message).map(([key, value]) => {
        const chip = el("span", "chip");
        chip.dataset.key = key;
        chip.append(el("span", "chip-key", key), el("span", "chip-value", value));
        return chip;
      });
      this.chips.replaceChildren(...chips);
    } else if (message.type === "clipboard" && typeof message.text === "string") {
      this._clipboard = { text: message.text };
      this.clipboardText.textContent = message.text;
      this.clipboardText.title = message.text;
      this.clipboardText.hidden = false;
      this.clipboardImage.hidden = true;
      this.clipboardImage.removeAttribute("src");
      this.clipboard.hidden = false;
    } else if (message.type === "clipboard" && typeof message.png === "string" && typeof message.part === "number" && typeof message.parts === "number") {
      const png = this.images.add(message.part, message.parts, message.png);
      if (png === undefined) return;
      this._clipboard = { png };
      this.clipboardImage.src = `data:${CLIPBOARD_IMAGE_TYPE};base64,${png}`;
      this.clipboardImage.hidden = false;
      this.clipboardText.hidden = true;
      this.clipboard.hidden = false;
    }
    this.root.hidden = this.chips.childElementCount === 0 && this.clipboard.hidden;
  }

  /** Forgets everything (another device was picked). */
  clear(): void {
    this._state = undefined;
    this._clipboard = undefined;
    this.chips.replaceChildren();
    this.clipboardText.textContent = "";
    this.clipboardImage.hidden = true;
    this.clipboardImage.removeAttribute("src");
    this.images.reset();
    this.clipboard.hidden = true;
    this.root.hidden = true;
  }

  private flash(text: string): void {
    this.copy.textContent = text;
    setTimeout(() => (this.copy.textContent = "Copy"), 1200);
  }
}

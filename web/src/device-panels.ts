import type { DeviceMessage } from "../../server/protocol/messages.js";
import { byId, el } from "./dom.js";
import { stateEntries } from "./format.js";

/**
 * What the watched device tells its viewers, under the player: its `state`
 * fields as "key: value" chips (`#device-status .chip[data-key]`) and its
 * latest clipboard (`#device-clipboard`) with a copy button. Every viewer
 * sees these, controlling or not.
 */
export class DevicePanels {
  private readonly root = byId("device-status");
  private readonly chips = byId("device-state-chips");
  private readonly clipboard = byId("device-clipboard");
  private readonly clipboardText = byId("device-clipboard-text");
  private readonly copy = byId<HTMLButtonElement>("device-clipboard-copy");
  private _state: DeviceMessage | undefined;
  private _clipboard: string | undefined;

  constructor() {
    this.copy.addEventListener("click", () => {
      const text = this._clipboard;
      if (text === undefined) return;
      navigator.clipboard.writeText(text).then(
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

  /** The device's latest clipboard text. */
  get clipboardValue(): string | undefined {
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
      this._clipboard = message.text;
      this.clipboardText.textContent = message.text;
      this.clipboardText.title = message.text;
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
    this.clipboard.hidden = true;
    this.root.hidden = true;
  }

  private flash(text: string): void {
    this.copy.textContent = text;
    setTimeout(() => (this.copy.textContent = "Copy"), 1200);
  }
}

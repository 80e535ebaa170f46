import type { DeviceInfo } from "../../server/protocol/messages.js";
import { el } from "./dom.js";
import { isDeviceInfo } from "./device-info.js";
import { codecLabel } from "./format.js";

/**
 * The live list of the account's devices. Each row is a button carrying
 * `data-device-id` and `data-online`; the selected one has aria-current. An
 * offline device that is not being watched has a remove button
 * (`button.forget[data-forget]`): its account may take it off the list.
 */
export class DeviceList {
  private devices: DeviceInfo[] = [];
  private selected: string | undefined;

  constructor(
    private readonly root: HTMLElement,
    onSelect: (deviceId: string) => void,
    onForget: (deviceId: string) => void,
  ) {
    root.addEventListener("click", (ev) => {
      const target = ev.target as HTMLElement;
      const forget = target.closest<HTMLButtonElement>("button[data-forget]");
      if (forget?.dataset.forget) return onForget(forget.dataset.forget);
      const button = target.closest<HTMLButtonElement>("button[data-device-id]");
      if (button?.dataset.deviceId) onSelect(button.dataset.deviceId);
    });
  }

  /** The last list the server sent. */
  get all(): readonly DeviceInfo[] {
    return this.devices;
  }

  /**
   * Replaces the list (from `welcome` or `devices`). Entries that are no
   * device (a server of another version) are left out rather than stored:
   * one would break every later drawing of the list.
   */
  update(devices: unknown): void {
    this.devices = Array.isArray(devices) ? devices.filter(isDeviceInfo) : [];
    this.render();
  }

  /** Marks a device as the one being watched. */
  select(deviceId: string | undefined): void {
    this.selected = deviceId;
    this.render();
  }

  private render(): void {
    if (this.devices.length === 0) {
      this.root.replaceChildren(el("li", "empty", "No devices yet. Open /device.html on a phone or laptop to publish one."));
      return;
    }
    this.root.replaceChildren(...this.devices.map((d) => this.row(d)));
  }

  private row(d: DeviceInfo): HTMLLIElement {
    const li = el("li");
    const button = el("button", "device");
    button.type = "button";
    button.dataset.deviceId = d.id;
    button.dataset.online = String(d.online);
    if (d.id === this.selected) button.setAttribute("aria-current", "true");
    const title = el("span", "device-name");
    title.append(el("span", `dot ${d.online ? "on" : "off"}`), d.name);
    const codecs = d.tracks.map((t) => codecLabel(t.codec)).join(" · ");
    const meta = el("span", "device-meta", [d.id, d.online ? codecs || "online" : "offline"].join(" — "));
    const viewers = el("span", "device-viewers", `${d.viewers} viewer${d.viewers === 1 ? "" : "s"}`);
    button.append(title, meta, viewers);
    li.append(button);
    if (!d.online && d.id !== this.selected) {
      const forget = el("button", "forget", "×");
      forget.type = "button";
      forget.dataset.forget = d.id;
      forget.title = `Remove ${d.name} from the list (it comes back when it publishes again)`;
      forget.setAttribute("aria-label", forget.title);
      li.append(forget);
    }
    return li;
  }
}

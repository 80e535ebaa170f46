import { SafeEmitter } from "../events.js";
import type { DeviceInfo, DeviceKind } from "../protocol/messages.js";
import { busy, notFound } from "../errors.js";
import { Device } from "./device.js";

/** Events of the registry. */
export interface RegistryEvents {
  /** An account's device list changed. */
  changed: [account: string];
  /** A device was seen for the first time (it stays known from then on). */
  created: [device: Device];
}

/**
 * Every device the server knows, keyed by account and device id. Device ids
 * are unique within an account only, so two accounts never collide and one
 * never learns of the other's devices.
 */
export class DeviceRegistry extends SafeEmitter<RegistryEvents> {
  private readonly devices = new Map<string, Device>();

  /** @param controlIdleMs how long a controlling viewer may stay idle before control is freed */
  constructor(private readonly controlIdleMs: number) {
    super();
  }

  private static key(account: string, id: string): string {
    return `${account}\u0000${id}`;
  }

  /** The device, if this account has one with this id. */
  get(account: string, id: string): Device | undefined {
    return this.devices.get(DeviceRegistry.key(account, id));
  }

  /** Returns the account's device with this id, creating it on first publish. */
  ensure(account: string, id: string, name: string, kind: DeviceKind): Device {
    const key = DeviceRegistry.key(account, id);
    let device = this.devices.get(key);
    if (!device) {
      device = new Device(account, id, name, kind, this.controlIdleMs);
      device.on("changed", () => this.emit("changed", account));
      this.devices.set(key, device);
      this.emit("created", device);
    } else {
      device.name = name;
      device.kind = kind;
    }
    this.emit("changed", account);
    return device;
  }

  /**
   * Forgets an offline device nobody watches (its account removes it from the
   * list); it comes back if it publishes again. Throws not_found, or busy
   * while it is online or watched (a viewer waiting for it).
   */
  forget(account: string, id: string): void {
    const key = DeviceRegistry.key(account, id);
    const device = this.devices.get(key);
    if (!device) throw notFound(`no device '${id}'`);
    if (device.listedOnline) throw busy(`device '${id}' is online; only an offline device can be removed`);
    if (device.viewers > 0) throw busy(`device '${id}' is being watched (a viewer waits for it)`);
    this.devices.delete(key);
    device.input.close();
    this.emit("changed", account);
  }

  /** The account's devices, online first, then by name. */
  list(account: string): DeviceInfo[] {
    const out: DeviceInfo[] = [];
    for (const d of this.devices.values()) if (d.account === account) out.push(d.info());
    return out.sort((a, b) => Number(b.online) - Number(a.online) || a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  }

  /** Number of devices online on this node, over all accounts (for metrics; no ids). */
  onlineCount(): number {
    let n = 0;
    for (const d of this.devices.values()) if (d.online) n++;
    return n;
  }

  /** Every device; used at shutdown. */
  all(): Device[] {
    return [...this.devices.values()];
  }
}

import { SafeEmitter } from "../events.js";
import type { DeviceInfo, DeviceKind } from "../protocol/messages.js";
import { busy, notFound } from "../errors.js";
import { Device } from "./device.js";

/** Devices one account may have known at once (see DeviceRegistry). */
export const MAX_KNOWN_DEVICES = 1000;

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
  /** By account, then id; within an account, least recently published first (ensure moves a device to the end). */
  private readonly accounts = new Map<string, Map<string, Device>>();

  /**
   * @param controlIdleMs how long a controlling viewer may stay idle before control is freed
   * @param maxKnown devices one account may have known at once: past it, the one offline and unwatched the longest is forgotten
   */
  constructor(
    private readonly controlIdleMs: number,
    private readonly maxKnown = MAX_KNOWN_DEVICES,
  ) {
    super();
  }

  /** The device, if this account has one with this id. */
  get(account: string, id: string): Device | undefined {
    return this.accounts.get(account)?.get(id);
  }

  /** Returns the account's device with this id, creating it on first publish. */
  ensure(account: string, id: string, name: string, kind: DeviceKind): Device {
    let devices = this.accounts.get(account);
    if (!devices) this.accounts.set(account, (devices = new Map<string, Device>()));
    let device = devices.get(id);
    if (!device) {
      device = new Device(account, id, name, kind, this.controlIdleMs);
      device.on("changed", () => this.emit("changed", account));
      devices.set(id, device);
      this.emit("created", device);
      if (devices.size > this.maxKnown) this.forgetOldest(devices, device);
    } else {
      device.name = name;
      device.kind = kind;
      devices.delete(id);
      devices.set(id, device);
    }
    this.emit("changed", account);
    return device;
  }

  /**
   * Forgets the account's device offline and unwatched the longest, if any:
   * a client saying hello under a new id each time would otherwise grow the
   * list every viewer of the account is sent, for good. Online and watched
   * ones are bounded by the limits on devices and viewers.
   */
  private forgetOldest(devices: Map<string, Device>, keep: Device): void {
    for (const [id, d] of devices) {
      if (d === keep || d.listedOnline || d.viewers > 0) continue;
      devices.delete(id);
      d.input.close();
      return;
    }
  }

  /**
   * Forgets an offline device nobody watches (its account removes it from the
   * list); it comes back if it publishes again. Throws not_found, or busy
   * while it is online or watched (a viewer waiting for it).
   */
  forget(account: string, id: string): void {
    const devices = this.accounts.get(account);
    const device = devices?.get(id);
    if (!devices || !device) throw notFound(`no device '${id}'`);
    if (device.listedOnline) throw busy(`device '${id}' is online; only an offline device can be removed`);
    if (device.viewers > 0) throw busy(`device '${id}' is being watched (a viewer waits for it)`);
    devices.delete(id);
    if (devices.size === 0) this.accounts.delete(account);
    device.input.close();
    this.emit("changed", account);
  }

  /** The account's devices, online first, then by name. */
  list(account: string): DeviceInfo[] {
    const out = [...(this.accounts.get(account)?.values() ?? [])].map((d) => d.info());
    return out.sort((a, b) => Number(b.online) - Number(a.online) || a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  }

  /** Number of devices online on this node, over all accounts (for metrics; no ids). */
  onlineCount(): number {
    let n = 0;
    for (const d of this.all()) if (d.online) n++;
    return n;
  }

  /** Every device; used at shutdown. */
  all(): Device[] {
    return [...this.accounts.values()].flatMap((devices) => [...devices.values()]);
  }
}

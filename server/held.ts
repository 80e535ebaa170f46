import type { Device } from "./devices/device.js";

/** A map whose entries live while someone holds them: created by the first acquire, closed by the last release. */
export class Held<K, V extends { close(): void; readonly closed: boolean }> {
  private readonly entries = new Map<K, { value: V; holders: number }>();

  acquire(key: K, create: () => V): V {
    let e = this.entries.get(key);
    if (!e || e.value.closed) {
      e = { value: create(), holders: 0 };
      this.entries.set(key, e);
    }
    e.holders++;
    return e.value;
  }

  /** Lets go of `value`; true when that was the last holder and it is closed now. */
  release(key: K, value: V): boolean {
    const e = this.entries.get(key);
    if (!e || e.value !== value) return false;
    if (--e.holders > 0) return false;
    this.entries.delete(key);
    value.close();
    return true;
  }

  close(): void {
    for (const e of this.entries.values()) e.value.close();
    this.entries.clear();
  }
}

/** One key per device across accounts. */
export const deviceKey = (device: Device): string => `${device.account}\u0000${device.id}`;

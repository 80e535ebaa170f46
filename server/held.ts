import type { Device } from "./devices/device.js";
import { NO_LEASE, type Lease } from "./limits.js";

/** A map whose entries live while someone holds them: created by the first acquire, closed by the last release. */
export class Held<K, V extends { close(): void; readonly closed: boolean }> {
  private readonly entries = new Map<K, { value: V; holders: number; lease: Lease }>();

  /**
   * The entry for `key`, made by `create` when there is none. `lease` is
   * taken before `create` (a limit refusal throws and nothing is made) and
   * given back when the entry closes.
   */
  acquire(key: K, create: () => V, lease: () => Lease = () => NO_LEASE): V {
    let e = this.entries.get(key);
    if (!e || e.value.closed) {
      e?.lease.release();
      const taken = lease();
      let value: V;
      try {
        value = create();
      } catch (err) {
        taken.release();
        throw err;
      }
      e = { value, holders: 0, lease: taken };
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
    e.lease.release();
    return true;
  }

  close(): void {
    for (const e of this.entries.values()) {
      e.value.close();
      e.lease.release();
    }
    this.entries.clear();
  }
}

/** One key per device across accounts. */
export const deviceKey = (device: Device): string => `${device.account}\u0000${device.id}`;

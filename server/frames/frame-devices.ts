import { busy, TesseraError, tooLarge } from "../errors.js";
import type { DeviceRegistry } from "../devices/registry.js";
import type { Logger } from "../log.js";
import type { RelayObserver } from "../relay/observer.js";
import { FRAME_DEVICE_DEFAULTS, FrameDevice, type FrameDeviceOptions } from "./frame-device.js";
import { inspectJpeg } from "./jpeg.js";
import { Limits, type Lease } from "../limits.js";
import type { StoredFrame } from "./stored-frame.js";

/** What FrameDevices works with. */
export interface FrameDevicesDeps {
  registry: DeviceRegistry;
  observer: RelayObserver;
  log: Logger;
  options?: FrameDeviceOptions;
  /** The largest picture a push may claim in its header (--max-frame-size). */
  maxSize: { width: number; height: number };
  /** Counts every push by outcome. */
  count?: (result: PushResult) => void;
  /** The `frames` rate and `devices` limits (none when not given). */
  limits?: Limits;
}

/** What became of one pushed frame. */
export type PushResult = "stored" | "not_jpeg" | "truncated" | "too_large" | "busy" | "limit";

/** The frame devices of every account. */
export class FrameDevices {
  private readonly devices = new Map<string, FrameDevice>();
  private readonly registry: DeviceRegistry;
  private readonly observer: RelayObserver;
  private readonly log: Logger;
  private readonly options: FrameDeviceOptions;
  private readonly maxSize: { width: number; height: number };
  private readonly limits: Limits;
  /** Counts every push by outcome (the routes count refusals they make themselves). */
  readonly count: NonNullable<FrameDevicesDeps["count"]>;

  constructor(deps: FrameDevicesDeps) {
    this.registry = deps.registry;
    this.observer = deps.observer;
    this.log = deps.log;
    this.options = deps.options ?? FRAME_DEVICE_DEFAULTS;
    this.maxSize = deps.maxSize;
    this.count = deps.count ?? (() => {});
    this.limits = deps.limits ?? Limits.none();
  }

  private static key(account: string, id: string): string {
    return `${account}\u0000${id}`;
  }

  /** The account's frame device with this id, while it is online. */
  get(account: string, id: string): FrameDevice | undefined {
    const d = this.devices.get(FrameDevices.key(account, id));
    return d && !d.closed ? d : undefined;
  }

  /**
   * Checks and stores one pushed JPEG; the first one puts the device online.
   * Refuses (nothing stored) a body that is not a whole JPEG (415/400) and a
   * device id another publisher (a WebRTC device) holds now (409), and a
   * picture larger than `maxSize` (413), checked in the header before any
   * decoder allocates for it. Beyond the account's or node's `frames` rate
   * or `devices` limit it throws a `limit` error.
   */
  push(account: string, id: string, jpeg: Buffer, deviceTimestamp: number | undefined): StoredFrame {
    try {
      this.limits.spend("frames", account);
    } catch (err) {
      this.count("limit");
      throw err;
    }
    const verdict = inspectJpeg(jpeg);
    if (!verdict.ok) {
      this.count(verdict.code);
      throw verdict.code === "not_jpeg" ? new TesseraError("unsupported", verdict.message, 415) : new TesseraError("bad_request", verdict.message, 400);
    }
    if (verdict.width > this.maxSize.width || verdict.height > this.maxSize.height) {
      this.count("too_large");
      throw tooLarge(`a ${verdict.width}x${verdict.height} picture is larger than ${this.maxSize.width}x${this.maxSize.height} (--max-frame-size)`);
    }
    const key = FrameDevices.key(account, id);
    let fd = this.devices.get(key);
    if (!fd || fd.closed) {
      const existing = this.registry.get(account, id);
      if (existing?.online && !(existing.currentPublisher instanceof FrameDevice)) {
        this.count("busy");
        throw busy(`device '${id}' is publishing over WebRTC`);
      }
      let lease: Lease;
      try {
        lease = this.limits.take("devices", account);
      } catch (err) {
        this.count("limit");
        throw err;
      }
      const device = this.registry.ensure(account, id, existing?.name ?? id, existing?.kind ?? "camera");
      fd = new FrameDevice(device, this.observer, this.log, this.options, (d) => {
        lease.release();
        if (this.devices.get(key) === d) this.devices.delete(key);
      });
      this.devices.set(key, fd);
    }
    const stored = fd.push({ jpeg, width: verdict.width, height: verdict.height, deviceTimestamp, receivedAt: Date.now() });
    this.count("stored");
    return stored;
  }

  close(): void {
    for (const d of this.devices.values()) d.close("server shutting down");
    this.devices.clear();
  }
}

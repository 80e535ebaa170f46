import type { Device } from "../devices/device.js";
import type { PushedFrames } from "../frames/frame-device.js";
import type { Logger } from "../log.js";
import type { FallbackCodec } from "../protocol/fallback.js";
import { FallbackSource, type SourceSettings } from "./source.js";

/**
 * The running fallback sources, one per device and codec: started by the
 * first viewer, stopped when the last one leaves.
 */
export class FallbackHub {
  private readonly sources = new Map<string, FallbackSource>();
  private readonly users = new Map<FallbackSource, number>();

  constructor(
    private readonly settings: SourceSettings,
    private readonly log: Logger,
    /** The pushed JPEGs of a device that publishes frames, if it does. */
    private readonly pushedFramesOf: (device: Device) => PushedFrames | undefined = () => undefined,
  ) {}

  /** How many sources run now. */
  get size(): number {
    return this.sources.size;
  }

  acquire(device: Device, codec: FallbackCodec): FallbackSource {
    const key = `${device.account}\u0000${device.id}\u0000${codec}`;
    let source = this.sources.get(key);
    if (!source || source.closed) {
      source = new FallbackSource(device, codec, this.settings, this.log, () => this.pushedFramesOf(device));
      this.sources.set(key, source);
      this.log.info("fallback stream started", { device: device.id, codec });
    }
    this.users.set(source, (this.users.get(source) ?? 0) + 1);
    return source;
  }

  release(source: FallbackSource): void {
    const n = (this.users.get(source) ?? 1) - 1;
    if (n > 0) {
      this.users.set(source, n);
      return;
    }
    this.users.delete(source);
    for (const [key, s] of this.sources) if (s === source) this.sources.delete(key);
    source.close();
    this.log.info("fallback stream stopped", { device: source.device.id, codec: source.codec });
  }

  close(): void {
    for (const s of this.sources.values()) s.close();
    this.sources.clear();
    this.users.clear();
  }
}

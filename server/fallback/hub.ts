import type { Device } from "../devices/device.js";
import type { PushedFrames } from "../frames/frame-device.js";
import type { Logger } from "../log.js";
import { PictureSource } from "./picture-source.js";
import type { FallbackCodec } from "../protocol/fallback.js";
import { FallbackSource, type SourceSettings } from "./source.js";
import { deviceKey, Held } from "../held.js";

/**
 * The running fallback pipelines: one PictureSource (decoder) per device,
 * held by that device's stripe sources and by picture grabs, and one
 * FallbackSource (stripe encoders) per device and codec, held by its
 * viewers. Each starts with its first holder and stops with its last.
 */
export class FallbackHub {
  private readonly pictures = new Held<string, PictureSource>();
  private readonly sources = new Held<string, FallbackSource>();

  constructor(
    private readonly settings: SourceSettings,
    private readonly log: Logger,
    /** The pushed JPEGs of a device that publishes frames, if it does. */
    private readonly pushedFramesOf: (device: Device) => PushedFrames | undefined = () => undefined,
  ) {}

  /** The device's decoded pictures, started on first use; give them back with releasePictures. */
  acquirePictures(device: Device): PictureSource {
    return this.pictures.acquire(deviceKey(device), () => new PictureSource(device, this.settings.maxPicture, this.log, () => this.pushedFramesOf(device)));
  }

  releasePictures(pictures: PictureSource): void {
    this.pictures.release(deviceKey(pictures.device), pictures);
  }

  /** The device's stripe stream in a codec, started on first use; give it back with release. */
  acquire(device: Device, codec: FallbackCodec): FallbackSource {
    return this.sources.acquire(`${deviceKey(device)}\u0000${codec}`, () => {
      this.log.info("fallback stream started", { device: device.id, codec });
      return new FallbackSource(this.acquirePictures(device), codec, this.settings, this.log);
    });
  }

  release(source: FallbackSource): void {
    if (!this.sources.release(`${deviceKey(source.device)}\u0000${source.codec}`, source)) return;
    this.releasePictures(source.pictures);
    this.log.info("fallback stream stopped", { device: source.device.id, codec: source.codec });
  }

  close(): void {
    this.sources.close();
    this.pictures.close();
  }
}

import type { Device } from "../devices/device.js";
import type { PushedFrames } from "../frames/frame-device.js";
import type { Logger } from "../log.js";
import { PictureSource } from "./picture-source.js";
import type { FallbackCodec } from "../protocol/fallback.js";
import { FallbackSource, tierSettings, type SourceSettings } from "./source.js";
import { deviceKey, Held } from "../held.js";
import { NO_LEASE, type Lease } from "../limits.js";

const sourceKey = (device: Device, codec: FallbackCodec, tier: number) => `${deviceKey(device)}\u0000${codec}\u0000${tier}`;

/**
 * The running fallback pipelines: one PictureSource (decoder) per device,
 * held by that device's stripe sources and by picture grabs, and one
 * FallbackSource (stripe encoders) per device, codec and quality tier,
 * held by its viewers. Each starts with its first holder and stops with its last.
 */
export class FallbackHub {
  private readonly pictures = new Held<string, PictureSource>();
  private readonly sources = new Held<string, FallbackSource>();

  constructor(
    private readonly settings: SourceSettings,
    private readonly log: Logger,
    /** The pushed JPEGs of a device that publishes frames, if it does. */
    private readonly pushedFramesOf: (device: Device) => PushedFrames | undefined = () => undefined,
    /** Counts each decoder and stripe encoder set against the pipeline limits (throws when refused). */
    private readonly lease: (device: Device) => Lease = () => NO_LEASE,
    /** Told each time a failed decoder is made again. */
    private readonly decoderRestarted: () => void = () => {},
  ) {}

  /** The device's decoded pictures, started on first use; give them back with releasePictures. Throws a `limit` error when no pipeline may start. */
  acquirePictures(device: Device): PictureSource {
    return this.pictures.acquire(
      deviceKey(device),
      () => new PictureSource(device, this.settings.maxPicture, this.log, () => this.pushedFramesOf(device), this.decoderRestarted),
      () => this.lease(device),
    );
  }

  releasePictures(pictures: PictureSource): void {
    this.pictures.release(deviceKey(pictures.device), pictures);
  }

  /** The device's stripe stream in a codec and quality tier, started on first use; give it back with release. Throws a `limit` error when no pipeline may start. */
  acquire(device: Device, codec: FallbackCodec, tier = 0): FallbackSource {
    return this.sources.acquire(
      sourceKey(device, codec, tier),
      () => {
        const pictures = this.acquirePictures(device);
        this.log.info("fallback stream started", { device: device.id, codec, tier });
        return new FallbackSource(pictures, codec, tierSettings(this.settings, tier), this.log, tier);
      },
      () => this.lease(device),
    );
  }

  release(source: FallbackSource): void {
    if (!this.sources.release(sourceKey(source.device, source.codec, source.tier), source)) return;
    this.releasePictures(source.pictures);
    this.log.info("fallback stream stopped", { device: source.device.id, codec: source.codec, tier: source.tier });
  }

  close(): void {
    this.sources.close();
    this.pictures.close();
  }
}

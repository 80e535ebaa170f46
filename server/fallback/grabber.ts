import { JpegStripeEncoder } from "../../pipelines/jpeg-stripe-encoder.js";
import type { Device } from "../devices/device.js";
import type { FallbackHub } from "./hub.js";
import type { PictureListener, PictureSource } from "./picture-source.js";

/** How long a device's decoder stays up after the last pull, ms. */
const KEEP_MS = 10_000;
/** How long a pull waits for the first picture of a device, ms. */
const FIRST_PICTURE_MS = 5000;

/**
 * Whole pictures of RTP devices as JPEG, for `frame.jpg`, pull streams and
 * snapshots: the device's PictureSource (its one decoder, shared with
 * fallback viewers) runs while pulls come, and a little longer, with a JPEG
 * encoder of its own (an encoder's pipelines are for one picture width:
 * devices of different sizes sharing one would close each other's). No
 * stripe encoder runs for them.
 */
export class PictureGrabber {
  private readonly held = new Map<Device, Held>();

  constructor(
    private readonly hub: FallbackHub,
    private readonly quality = 85,
  ) {}

  /** The device's latest picture as JPEG with an ETag; undefined when none comes within a few seconds. */
  async jpegOf(device: Device): Promise<{ jpeg: Buffer; etag: string } | undefined> {
    const { source, encoder } = this.hold(device);
    let latest = source.latest;
    if (!latest) {
      await new Promise<void>((resolve) => {
        const listener: PictureListener = {
          onPicture: () => done(),
          onDeviceState: () => {},
        };
        const timer = setTimeout(() => done(), FIRST_PICTURE_MS);
        const done = () => {
          clearTimeout(timer);
          source.remove(listener);
          resolve();
        };
        source.add(listener);
      });
      latest = source.latest;
    }
    if (!latest) return undefined;
    const { picture: frame, number } = latest;
    // A copy: the decoder writes its buffers again a few pictures later (PICTURE_BUFFERS), and the encoder may queue this one.
    const data = Buffer.from(frame.data.subarray(0, (frame.width * frame.height * 3) / 2));
    const jpeg = await encoder.encode({ data, width: frame.width, height: frame.height }, this.quality);
    return { jpeg, etag: `"d${number}"` };
  }

  close(): void {
    for (const h of this.held.values()) this.release(h);
    this.held.clear();
  }

  private hold(device: Device): Held {
    const h = this.held.get(device);
    if (h && !h.source.closed) {
      h.timer.refresh();
      return h;
    }
    if (h) this.release(h);
    const held: Held = {
      source: this.hub.acquirePictures(device),
      encoder: new JpegStripeEncoder(),
      timer: setTimeout(() => {
        this.held.delete(device);
        this.release(held);
      }, KEEP_MS),
    };
    held.timer.unref();
    this.held.set(device, held);
    return held;
  }

  private release(h: Held): void {
    clearTimeout(h.timer);
    this.hub.releasePictures(h.source);
    h.encoder.close();
  }
}

/** A device's pictures, held while pulls come. */
interface Held {
  source: PictureSource;
  encoder: JpegStripeEncoder;
  timer: NodeJS.Timeout;
}

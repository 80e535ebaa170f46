import type { DesktopCaptureOptions } from "../../pipelines/desktop.js";
import type { I420Picture } from "../../pipelines/i420.js";
import type { Device, DevicePublisher, RawPictures } from "../devices/device.js";
import type { Logger } from "../log.js";
import type { RelayObserver } from "../relay/observer.js";
import { parseRtp } from "../relay/rtp.js";
import { UpTrack } from "../relay/up-track.js";
import { localVideoCodec } from "../sources/rtp-codecs.js";
import { DesktopCapture, type CaptureLimits } from "./desktop-capture.js";
import { X11Desktop, type CursorShape } from "./x11-desktop.js";

/** How a host display is published. */
export interface HostDeviceOptions {
  capture: DesktopCaptureOptions;
  limits: CaptureLimits;
  /** Inject the control holder's input into the display (--allow-input). */
  allowInput: boolean;
  observer: RelayObserver;
  log: Logger;
  /** First wait before trying a display again after it went away, ms (doubles to 30 s). */
  retryMs?: number;
}

const MAX_RETRY_MS = 30_000;

/**
 * A display of this host as a device (`--source x11:DISPLAY`): the screen
 * captured into the relay (no WebRTC hop) and its raw pictures for the
 * fallback; the X connection for input, cursor shapes and the clipboard.
 * When the display goes away the device goes offline and the display is
 * tried again with backoff, so a restarted X server comes back by itself.
 */
export class HostDevice implements DevicePublisher, RawPictures {
  private capture: DesktopCapture | undefined;
  private desktop: X11Desktop | undefined;
  private video: UpTrack | undefined;
  private readonly pictureListeners = new Set<(picture: I420Picture) => void>();
  private retryTimer: NodeJS.Timeout | undefined;
  private retryMs: number;
  private _closed = false;

  constructor(
    private readonly device: Device,
    private readonly o: HostDeviceOptions,
  ) {
    this.retryMs = o.retryMs ?? 1000;
  }

  get closed(): boolean {
    return this._closed;
  }

  /** Connects to the display and starts publishing; failures are logged and retried. */
  start(): void {
    void this.open();
  }

  /** RawPictures: raw screen pictures for the fallback, with no encode/decode round trip. */
  subscribe(onPicture: (picture: I420Picture) => void): () => void {
    this.pictureListeners.add(onPicture);
    this.capture?.wantPictures(true);
    return () => {
      this.pictureListeners.delete(onPicture);
      if (this.pictureListeners.size === 0) this.capture?.wantPictures(false);
    };
  }

  /** Changes frame rate and bitrate within the server's limits. */
  adjust(request: { fps?: number; bitrateKbps?: number }): { fps: number; bitrateKbps: number } | undefined {
    return this.capture?.adjust(request);
  }

  /** DevicePublisher: stops for good. */
  close(reason = "closed"): void {
    if (this._closed) return;
    this._closed = true;
    clearTimeout(this.retryTimer);
    this.stop(reason);
  }

  private async open(): Promise<void> {
    const { display } = this.o.capture;
    let desktop: X11Desktop;
    try {
      desktop = await X11Desktop.connect(display, this.o.log);
    } catch (err) {
      this.o.log.warn("host display not available", { display, err: (err as Error).message, retryInMs: this.retryMs });
      return this.retry();
    }
    if (this._closed) return desktop.close();
    this.desktop = desktop;
    desktop.on("closed", (reason) => {
      this.o.log.warn("host display went away", { display, reason });
      this.stop(reason);
      this.retry();
    });
    desktop.on("cursor", (shape) => this.toViewers(cursorMessage(shape)));
    desktop.on("clipboard", (text) => this.toViewers({ type: "clipboard", text }));

    const capture = new DesktopCapture(
      this.o.capture,
      {
        onRtp: (buf) => {
          const rtp = parseRtp(buf);
          if (rtp) this.video?.push(rtp.sequenceNumber, rtp.timestamp, rtp.marker, rtp.payload);
        },
        onPicture: (picture) => {
          for (const l of this.pictureListeners) l(picture);
        },
        onError: (message) => {
          this.o.log.error("host capture stopped", { display, message });
          this.stop("capture error");
          this.retry();
        },
      },
      this.o.limits,
    );
    this.capture = capture;
    this.video = new UpTrack({
      id: `host-video-${this.device.id}`,
      codec: localVideoCodec(this.o.capture.encoder === "vp8enc" ? "vp8" : "h264"),
      requestKeyframe: () => capture.requestKeyframe(),
      keyframeBy: "encoder",
      observer: this.o.observer,
    });
    this.device.attach(this);
    capture.start();
    if (this.pictureListeners.size > 0) capture.wantPictures(true);
    const { width, height } = desktop.size;
    this.toViewers({ type: "resolution", width, height });
    if (this.o.allowInput) this.device.input.setChannel((line) => desktop.inject(line));
    this.device.publish(this, [this.video], { rawPictures: this });
    this.retryMs = this.o.retryMs ?? 1000;
    this.o.log.info("host display published", { display, width, height, encoder: this.o.capture.encoder, input: this.o.allowInput });
  }

  private toViewers(message: { type: string; [field: string]: unknown }): void {
    const refused = this.device.input.fromDevice(JSON.stringify(message));
    if (refused) this.o.log.debug("host message not forwarded", { type: message.type, refused });
  }

  /** Ends this connection to the display (not the device object): offline until the next open(). */
  private stop(reason: string): void {
    const capture = this.capture;
    const desktop = this.desktop;
    this.capture = undefined;
    this.desktop = undefined;
    if (this.device.currentPublisher === this) this.device.input.setChannel(undefined);
    this.device.detach(this);
    this.video?.close();
    this.video = undefined;
    capture?.close();
    if (desktop) {
      desktop.removeAllListeners();
      desktop.close();
    }
    this.o.log.debug("host display stopped", { display: this.o.capture.display, reason });
  }

  private retry(): void {
    if (this._closed || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this._closed) void this.open();
    }, this.retryMs);
    this.retryTimer.unref();
    this.retryMs = Math.min(MAX_RETRY_MS, this.retryMs * 2);
  }
}

/** The viewers' cursor message: the shape as PNG with its hotspot. */
function cursorMessage(shape: CursorShape): { type: "cursor"; [field: string]: unknown } {
  return { type: "cursor", png: shape.png, hotspotX: shape.hotspotX, hotspotY: shape.hotspotY, width: shape.width, height: shape.height };
}

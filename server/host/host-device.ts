import { existsSync } from "node:fs";
import type { DesktopCaptureOptions } from "../../pipelines/desktop.js";
import type { I420Picture } from "../../pipelines/i420.js";
import type { Device, DevicePublisher, RawPictures } from "../devices/device.js";
import type { Logger } from "../log.js";
import type { RelayObserver } from "../relay/observer.js";
import { parseRtp } from "../relay/rtp.js";
import { UpTrack } from "../relay/up-track.js";
import { LOWER_LAYERS } from "../protocol/simulcast.js";
import { DownTrack } from "../relay/down-track.js";
import { LOCAL_OPUS, localVideoCodec } from "../sources/rtp-codecs.js";
import { clipboardMessages } from "./clipboard.js";
import { DesktopAudio } from "./desktop-audio.js";
import { DesktopCapture, type CaptureLimits } from "./desktop-capture.js";
import { DesktopControl } from "./desktop-control.js";
import { IdleRate } from "./idle-rate.js";
import { PointerFollower } from "./pointer-follower.js";
import { X11Desktop, type CursorShape } from "./x11-desktop.js";

/** How a host display is published. */
export interface HostDeviceOptions {
  capture: DesktopCaptureOptions;
  limits: CaptureLimits;
  /** Inject the control holder's input into the display (--allow-input). */
  allowInput: boolean;
  /** Resize the display to the control holder's player (--allow-resize). */
  allowResize: boolean;
  observer: RelayObserver;
  log: Logger;
  /** The desktop's sound and the controller's talk-back through PulseAudio (--audio pulse). */
  audio: boolean;
  /** First wait before trying a display again after it went away, ms (doubles to 30 s). */
  retryMs?: number;
  /** Offer a display captured with VP8 as simulcast: its lower layers each encoded only while a viewer takes it (--source-simulcast). */
  simulcast?: boolean;
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
  private sound: { audio: DesktopAudio; track: UpTrack; talk: DownTrack } | undefined;
  private readonly pictureListeners = new Set<(picture: I420Picture) => void>();
  private retryTimer: NodeJS.Timeout | undefined;
  private retryMs: number;
  private _closed = false;
  private control: DesktopControl | undefined;
  private pointer: PointerFollower | undefined;
  private idle: IdleRate | undefined;

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

  /** Changes frame rate and bitrate within the server's limits (the controller's `_arg_fps` and `vb` lines). */
  private adjust(request: { fps?: number; bitrateKbps?: number }): void {
    const now = this.capture?.adjust(request);
    if (now) this.o.log.info("host stream settings", { display: this.o.capture.display, ...now });
  }

  /** DevicePublisher: stops for good. */
  close(reason = "closed"): void {
    if (this._closed) return;
    this._closed = true;
    clearTimeout(this.retryTimer);
    this.stop(reason);
  }

  private async open(): Promise<void> {
    const { display, camera } = this.o.capture;
    if (camera !== undefined) return this.openCamera(camera);
    let desktop: X11Desktop;
    try {
      desktop = await X11Desktop.connect(display, this.o.log);
    } catch (err) {
      this.retryLog()("host display not available", { display, err: (err as Error).message, retryInMs: this.retryMs });
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
    desktop.on("clipboard", (content) => clipboardMessages(content).forEach((m) => this.toViewers(m)));
    desktop.on("resized", (size) => this.resized(size));
    if (desktop.tracksDamage) {
      const idle = new IdleRate((on) => this.capture?.idle(on));
      this.idle = idle;
      desktop.on("damaged", () => idle.wake());
    }
    this.device.attach(this);
    if (this.o.audio) this.startAudio();
    this.startCapture(desktop);
    const control = new DesktopControl(
      desktop,
      { input: this.o.allowInput, resize: this.o.allowResize },
      this.o.log,
      (request) => this.adjust(request),
      (message) => this.toViewers(message),
    );
    this.control = control;
    this.pointer = new PointerFollower(
      desktop,
      (x, y) => this.toViewers({ type: "cursor", x, y }),
      () => this.device.viewers > 0,
    );
    this.device.input.setChannel((line) => control.line(line));
    this.retryMs = this.o.retryMs ?? 1000;
    const { width, height } = desktop.size;
    this.o.log.info("host display published", {
      display,
      width,
      height,
      encoder: this.o.capture.encoder,
      input: this.o.allowInput,
      resize: this.o.allowResize,
    });
  }

  /** A V4L2 camera (`--source v4l2`): the same capture with v4l2src, no X connection, no input. */
  private openCamera(camera: string): void {
    if (this._closed) return;
    if (!existsSync(camera)) {
      this.retryLog()("camera not available", { camera, retryInMs: this.retryMs });
      return this.retry();
    }
    this.device.attach(this);
    this.startCapture(undefined);
    this.retryMs = this.o.retryMs ?? 1000;
    this.o.log.info("camera published", { camera, encoder: this.o.capture.encoder });
  }

  /**
   * A capture of the display at its current size, published as the device's
   * video. A capture already running is replaced: the relay moves viewers to
   * the new track without renegotiating, and each viewer's stream stays one
   * continuous stream at the new size.
   */
  private startCapture(desktop: X11Desktop | undefined): void {
    const old = { capture: this.capture, video: this.video };
    const display = this.o.capture.display;
    const layers = desktop && this.o.simulcast ? { size: desktop.size, lower: LOWER_LAYERS } : undefined;
    const capture = new DesktopCapture(
      {
        ...this.o.capture,
        fps: old.capture?.fps ?? this.o.capture.fps,
        bitrateKbps: old.capture?.bitrateKbps ?? this.o.capture.bitrateKbps,
        ...(layers ? { layers } : {}),
      },
      {
        onRtp: (buf) => {
          const rtp = parseRtp(buf);
          if (rtp && this.capture === capture) this.video?.push(rtp.sequenceNumber, rtp.timestamp, rtp.marker, rtp.payload);
        },
        onPicture: (picture) => {
          if (this.capture !== capture) return;
          for (const l of this.pictureListeners) l(picture);
        },
        onError: (message) => {
          if (this.capture !== capture) return;
          this.o.log.error("host capture stopped", { display: this.o.capture.camera ?? display, message });
          this.stop("capture error");
          this.retry();
        },
      },
      this.o.limits,
      { idPrefix: `host-video-${this.device.id}`, observer: this.o.observer, log: this.o.log, wake: () => this.idle?.wake() },
    );
    this.capture = capture;
    this.video = new UpTrack({
      id: `host-video-${this.device.id}`,
      codec: localVideoCodec(this.o.capture.encoder === "vp8enc" ? "vp8" : "h264"),
      requestKeyframe: () => {
        // A keyframe is wanted now, not at the idle rate's next frame.
        this.idle?.wake();
        capture.requestKeyframe();
      },
      keyframeBy: "encoder",
      observer: this.o.observer,
    });
    capture.layers?.join(this.video);
    capture.start();
    this.idle?.wake();
    if (this.pictureListeners.size > 0) capture.wantPictures(true);
    if (desktop) this.toViewers({ type: "resolution", ...desktop.size, resizable: this.o.allowResize });
    this.device.publish(this, this.sound ? [this.video, this.sound.track] : [this.video], { rawPictures: this });
    old.capture?.close();
    old.video?.close();
  }

  /**
   * The desktop's sound as an Opus track, and its speakers as the device's
   * talk-back sink (the controller's microphone). Without a sound server
   * the display is published without sound, and that is logged.
   */
  private startAudio(): void {
    const display = this.o.capture.display;
    const audio = new DesktopAudio({
      onRtp: (buf) => {
        const rtp = parseRtp(buf);
        if (rtp && this.sound?.audio === audio) this.sound.track.push(rtp.sequenceNumber, rtp.timestamp, rtp.marker, rtp.payload);
      },
      onError: (message) => {
        if (this.sound?.audio !== audio) return;
        this.o.log.warn("desktop audio stopped; the display goes on without sound", { display, message });
        this.stopAudio();
      },
    });
    const track = new UpTrack({ id: `host-audio-${this.device.id}`, codec: LOCAL_OPUS, requestKeyframe: () => {}, observer: this.o.observer });
    const talk = new DownTrack(LOCAL_OPUS, audio.talkSink);
    this.sound = { audio, track, talk };
    audio.start();
    this.device.setTalkSink(talk);
  }

  private stopAudio(): void {
    const sound = this.sound;
    if (!sound) return;
    this.sound = undefined;
    if (this.device.currentPublisher === this) this.device.setTalkSink(undefined);
    sound.talk.close();
    sound.track.close();
    sound.audio.close();
  }

  /** The display's size changed (by a viewer's request, or by anyone on the desktop): capture it at the new size. */
  private resized(size: { width: number; height: number }): void {
    const desktop = this.desktop;
    if (!desktop || this._closed) return;
    this.o.log.info("host display resized", { display: this.o.capture.display, ...size });
    this.startCapture(desktop);
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
    this.control?.close();
    this.control = undefined;
    this.pointer?.close();
    this.pointer = undefined;
    this.idle?.close();
    this.idle = undefined;
    this.stopAudio();
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

  /** The first failure in a row is a warning; the retries after it are debug lines. */
  private retryLog(): Logger["warn"] {
    const first = this.retryMs === (this.o.retryMs ?? 1000);
    return (msg, fields) => (first ? this.o.log.warn(msg, fields) : this.o.log.debug(msg, fields));
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

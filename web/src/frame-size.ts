/** A video frame size in pixels. */
export interface FrameSize {
  width: number;
  height: number;
}

/** How often the sent frame size is re-read, ms. */
const POLL_MS = 500;

/**
 * The size of the video frames a device actually sends: the encoder may
 * scale the capture down (bandwidth, CPU), and viewers' coordinates are in
 * the size they decode. Reads outbound-rtp frameWidth/frameHeight, falling
 * back to the capture track's settings until the encoder has reported, and
 * calls back whenever the size changes.
 */
export class SentFrameSize {
  private timer: number | undefined;
  private _size: FrameSize | undefined;
  private reading = false;
  /** Once the encoder has reported, its size is the truth; the track's is only a first guess. */
  private encoderSeen = false;

  constructor(
    private readonly pc: () => RTCPeerConnection | undefined,
    private readonly track: MediaStreamTrack | undefined,
    private readonly onChange: (size: FrameSize) => void,
  ) {
    this.timer = window.setInterval(() => void this.poll(), POLL_MS);
    void this.poll();
  }

  /** The last known size. */
  get size(): FrameSize | undefined {
    return this._size;
  }

  /** Stops polling; idempotent. */
  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async poll(): Promise<void> {
    if (this.reading || this.timer === undefined) return;
    this.reading = true;
    try {
      const sent = await this.fromStats();
      if (sent) this.encoderSeen = true;
      const size = sent ?? (this.encoderSeen ? undefined : this.fromTrack());
      if (size && this.timer !== undefined && (size.width !== this._size?.width || size.height !== this._size?.height)) {
        this._size = size;
        this.onChange(size);
      }
    } finally {
      this.reading = false;
    }
  }

  private async fromStats(): Promise<FrameSize | undefined> {
    const pc = this.pc();
    if (!pc || pc.connectionState !== "connected") return undefined;
    let best: FrameSize | undefined;
    for (const r of (await pc.getStats()).values() as IterableIterator<Record<string, unknown>>) {
      if (r.type !== "outbound-rtp" || r.kind !== "video") continue;
      const width = r.frameWidth;
      const height = r.frameHeight;
      // With simulcast the largest layer is the stream's size.
      if (typeof width === "number" && typeof height === "number" && width > 0 && height > 0 && (!best || width > best.width)) best = { width, height };
    }
    return best;
  }

  private fromTrack(): FrameSize | undefined {
    const { width, height } = this.track?.getSettings() ?? {};
    return width && height ? { width, height } : undefined;
  }
}

/** One pushed frame, as kept. */
export interface StoredFrame {
  jpeg: Buffer;
  width: number;
  height: number;
  /** The device's own timestamp (X-Frame-Timestamp), ms since the epoch, when it sent one. */
  deviceTimestamp: number | undefined;
  /** When the server received it, ms since the epoch. */
  receivedAt: number;
  /** Counts frames of this device from 1; an ETag for the frame. */
  seq: number;
}

/** The last `capacity` frames of a device, oldest first. */
export class FrameRing {
  private readonly frames: StoredFrame[] = [];
  private seq = 0;

  constructor(readonly capacity = 10) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new TypeError(`capacity must be a positive integer, got ${capacity}`);
  }

  push(frame: Omit<StoredFrame, "seq">): StoredFrame {
    const stored = { ...frame, seq: ++this.seq };
    this.frames.push(stored);
    if (this.frames.length > this.capacity) this.frames.shift();
    return stored;
  }

  get latest(): StoredFrame | undefined {
    return this.frames.at(-1);
  }

  /** Every kept frame, oldest first. */
  all(): readonly StoredFrame[] {
    return this.frames;
  }
}

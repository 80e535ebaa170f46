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

/**
 * The simulcast layers of a picture, lowest first: a quarter, half and full
 * size, each with its highest bitrate. The device page sends a camera or
 * screen as these (web/src/publisher.ts) and the server's test device
 * encodes the same (server/sources/test-device.ts); the relay gives each
 * viewer the one its picture size and bandwidth call for.
 */
export interface SimulcastLayer {
  /** The RTP stream id (a=rid) of the layer. */
  rid: string;
  /** The full picture's width and height divided by this. */
  scaleDownBy: number;
  /** Its highest bitrate, bits/s. */
  maxBitrate: number;
}

export const SIMULCAST_LAYERS: readonly SimulcastLayer[] = [
  { rid: "q", scaleDownBy: 4, maxBitrate: 150_000 },
  { rid: "h", scaleDownBy: 2, maxBitrate: 500_000 },
  { rid: "f", scaleDownBy: 1, maxBitrate: 2_500_000 },
];

/** The layers below the full picture, lowest first: what a server-side source encodes on demand. */
export const LOWER_LAYERS: readonly SimulcastLayer[] = SIMULCAST_LAYERS.filter((l) => l.scaleDownBy > 1);

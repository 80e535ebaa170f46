import { PLAYOUT_DELAY_URI } from "./playout-delay.js";

/** Header extensions the server negotiates with viewers (peer-config.ts). */
const EXT_MID = "urn:ietf:params:rtp-hdrext:sdes:mid";
const EXT_ABS_SEND_TIME = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";
/** Seconds from 1900 (NTP) to 1970 (Unix). */
const NTP_EPOCH_OFFSET = 2_208_988_800;

/** Where the per-packet header fields go in a template, -1 where the extension was not negotiated. */
export interface HeaderLayout {
  header: Buffer;
  /** abs-send-time's 3 bytes. */
  absOffset: number;
  /** playout-delay's 3 bytes (playout-delay.ts). */
  playoutOffset: number;
}

/**
 * The fixed part of every header this sender writes: version 2, the
 * payload type and SSRC, and the one-byte header extensions (RFC 8285)
 * negotiated here: mid, abs-send-time and playout-delay (both filled per
 * packet; the playout delay's bytes start as `playoutDelay`).
 */
export function headerTemplate(
  payloadType: number,
  ssrc: number,
  extensions: ReadonlyArray<{ id: number; uri: string }>,
  mid: string | undefined,
  playoutDelay = 0,
): HeaderLayout {
  const elements: Array<{ id: number; value: Buffer; uri: string }> = [];
  for (const e of [...extensions].sort((a, b) => a.id - b.id)) {
    if (e.id < 1 || e.id > 14) continue;
    if (e.uri === EXT_MID && mid) elements.push({ id: e.id, value: Buffer.from(mid, "ascii").subarray(0, 16), uri: e.uri });
    if (e.uri === EXT_ABS_SEND_TIME) elements.push({ id: e.id, value: Buffer.alloc(3), uri: e.uri });
    if (e.uri === PLAYOUT_DELAY_URI) {
      const value = Buffer.alloc(3);
      value.writeUIntBE(playoutDelay, 0, 3);
      elements.push({ id: e.id, value, uri: e.uri });
    }
  }
  const extBytes = elements.reduce((n, e) => n + 1 + e.value.length, 0);
  const padded = Math.ceil(extBytes / 4) * 4;
  const header = Buffer.alloc(12 + (elements.length ? 4 + padded : 0));
  header[0] = elements.length ? 0x90 : 0x80;
  header[1] = payloadType & 0x7f;
  header.writeUInt32BE(ssrc >>> 0, 8);
  let absOffset = -1;
  let playoutOffset = -1;
  if (elements.length) {
    header.writeUInt16BE(0xbede, 12);
    header.writeUInt16BE(padded / 4, 14);
    let at = 16;
    for (const e of elements) {
      header[at++] = (e.id << 4) | (e.value.length - 1);
      if (e.uri === EXT_ABS_SEND_TIME) absOffset = at;
      if (e.uri === PLAYOUT_DELAY_URI) playoutOffset = at;
      e.value.copy(header, at);
      at += e.value.length;
    }
  }
  return { header, absOffset, playoutOffset };
}

/** abs-send-time: seconds in 6.18 fixed point, 24 bits (wraps every 64 s). */
export function absSendTime(nowMs: number): number {
  return Math.floor(((performance.timeOrigin + nowMs) / 1000) * 262_144) & 0xffffff;
}

/** The NTP timestamp (RFC 3550 §4) of `performance.now()` = nowMs. */
export function ntpTime(nowMs: number): bigint {
  const unixMs = performance.timeOrigin + nowMs;
  const seconds = Math.floor(unixMs / 1000);
  const fraction = Math.floor(((unixMs - seconds * 1000) / 1000) * 2 ** 32);
  return (BigInt(seconds + NTP_EPOCH_OFFSET) << 32n) | BigInt(fraction >>> 0);
}

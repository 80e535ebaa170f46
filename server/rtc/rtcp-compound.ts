import { RtcpPacketConverter } from "werift";

/**
 * werift 0.25 reads a compound RTCP packet (RFC 3550 §6.1) by handing each
 * part everything from its start to the end of the datagram, not its own
 * length. A NACK is read up to the end: the REMB or receiver report after it
 * in Chromium's compounds becomes dozens of made-up sequence numbers per
 * NACK (measured: one real and about 38 made up each). The relay then
 * counted them as asked for, and resent any it happened to keep.
 *
 * The fix splits the compound by each part's length field and lets werift
 * read the parts one at a time. It replaces the converter's static
 * `deSerialize`, which werift's DTLS transport looks up per datagram; once
 * per process.
 */
const FIXED = Symbol("tessera.rtcpCompound");

type Converter = { deSerialize(data: Buffer): unknown[]; [FIXED]?: true };

/** The [start, end) byte ranges of the parts of a compound RTCP packet; a part that runs past the end is left out. */
export function compoundParts(data: Buffer): Array<[number, number]> {
  const parts: Array<[number, number]> = [];
  for (let pos = 0; pos + 4 <= data.length;) {
    const end = pos + 4 + data.readUInt16BE(pos + 2) * 4;
    if (end > data.length) break;
    parts.push([pos, end]);
    pos = end;
  }
  return parts;
}

/** Makes werift read each part of a compound RTCP packet within its own length; idempotent. */
export function fixRtcpCompound(): void {
  const converter = RtcpPacketConverter as unknown as Converter;
  if (converter[FIXED]) return;
  const readOne = converter.deSerialize.bind(converter);
  converter.deSerialize = (data: Buffer) => {
    const parts = compoundParts(data);
    if (parts.length === 1) return readOne(data.subarray(parts[0][0], parts[0][1]));
    const packets: unknown[] = [];
    for (const [start, end] of parts) packets.push(...readOne(data.subarray(start, end)));
    return packets;
  };
  converter[FIXED] = true;
}

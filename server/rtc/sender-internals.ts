import type { Socket } from "node:dgram";

/**
 * The parts of a werift 0.25 sender this path reads and keeps up to date.
 * They are not in werift's typings; `FastSender.bind` checks each one and
 * leaves the sender to werift when any is missing.
 */
export interface SsrcState {
  rolloverCounter: number;
  /** What werift's updateRolloverCount keeps besides the counter (the native fan-out keeps them the same way while it sends). */
  lastSequenceNumber?: number;
  rolloverHasProcessed?: boolean;
}
export interface LocalSrtpContext {
  profile: number;
  srtpSessionKey: Buffer;
  srtpSessionSalt: Buffer;
  srtpSessionAuthTag?: Buffer;
  getSrtpSsrcState(ssrc: number): SsrcState;
  updateRolloverCount(sequenceNumber: number, state: SsrcState): void;
}
/** The SRTCP side of a DTLS session's keys, and its index per SSRC (werift counts one up per report it sends). */
export interface LocalSrtcpContext {
  profile: number;
  srtcpSessionKey: Buffer;
  srtcpSessionSalt: Buffer;
  srtcpSessionAuthTag?: Buffer;
  getSrtcpSsrcState(ssrc: number): { srtcpIndex: number };
}
/** The ICE candidate pair in use, and the connection that chose it. */
export interface IcePair {
  protocol: { type?: string; transport?: { type?: string; closed?: boolean; socket?: Socket } };
  remoteAddr: [string, number];
  packetsSent: number;
  bytesSent: number;
}
export interface IceConnection {
  nominated?: IcePair;
  canSendApplicationData?(): boolean;
  send(data: Buffer): Promise<void>;
}
export interface SenderInternals {
  ssrc: number;
  codec?: { payloadType: number; mimeType?: string; clockRate?: number };
  mid?: string;
  /** RTX (RFC 4588), when the viewer took it: its payload type, SSRC and next sequence number (werift's own resends use it too). */
  rtxPayloadType?: number;
  rtxSsrc?: number;
  rtxSequenceNumber?: number;
  headerExtensions: Array<{ id: number; uri: string }>;
  dtlsTransport: {
    state: string;
    srtp?: { localContext?: LocalSrtpContext };
    srtcp?: { localContext?: LocalSrtcpContext };
    iceTransport: { connection: IceConnection };
    bytesSent: number;
    packetsSent: number;
  };
  ntpTimestamp: bigint;
  rtpTimestamp: number;
  packetCount: number;
  octetCount: number;
  headerBytesSent: number;
  retransmittedPacketsSent: number;
  retransmittedBytesSent: number;
  /** Round trip time from the viewer's receiver reports, seconds, once known. */
  rtt?: number;
  /** werift's own loop of sender reports, which runs once anything is sent through werift's sendRtp. */
  rtcpRunning?: boolean;
  cname?: string;
  /** The middle 32 bits of the NTP time in the last sender report, and when (Unix seconds) it went out: a receiver report answering it gives the round trip. */
  lastSRtimestamp?: number;
  lastSentSRTimestamp?: number;
}

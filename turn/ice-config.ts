import { DEFAULT_TURN_TTL_SECONDS, turnRestCredential } from "./credentials.js";

/** An RTCIceServer as browsers accept it. */
export interface IceServerEntry {
  urls: string[];
  username?: string;
  credential?: string;
}

/** What `GET /api/rtc-config` returns. */
export interface RtcConfiguration {
  iceServers: IceServerEntry[];
  iceTransportPolicy: "all" | "relay";
  /** Seconds the credentials stay valid; refresh well before. */
  ttl: number;
}

/** ICE settings from the operator. */
export interface IceOptions {
  /** stun: URIs handed to clients. */
  stunUris: readonly string[];
  /** turn:/turns: URIs, used with credentials minted from `turnSecret`. */
  turnUris: readonly string[];
  /** coturn's static-auth-secret; no TURN without it. */
  turnSecret?: string;
  /** Lifetime of minted credentials, seconds. */
  turnTtlSeconds?: number;
}

const URI = /^(stun|stuns|turn|turns):[^\s]+$/i;

/** Checks a STUN/TURN URI's scheme and shape; returns a reason when it is not one. */
export function invalidIceUri(uri: string): string | undefined {
  if (!URI.test(uri)) return "expected stun:, stuns:, turn: or turns: followed by host[:port][?transport=udp|tcp]";
  const transport = /\?transport=(.*)$/.exec(uri)?.[1];
  if (transport !== undefined && transport !== "udp" && transport !== "tcp") return "transport must be udp or tcp";
  return undefined;
}

/**
 * The ICE servers each account gets: STUN as configured, and TURN with a
 * fresh coturn REST credential bound to the account. Pure: the caller passes
 * the clock.
 */
export function rtcConfiguration(options: IceOptions, account: string, nowMs: number): RtcConfiguration {
  const ttl = options.turnTtlSeconds ?? DEFAULT_TURN_TTL_SECONDS;
  const iceServers: IceServerEntry[] = [];
  if (options.stunUris.length > 0) iceServers.push({ urls: [...options.stunUris] });
  if (options.turnSecret && options.turnUris.length > 0) {
    const c = turnRestCredential(options.turnSecret, account, ttl, nowMs);
    iceServers.push({ urls: [...options.turnUris], username: c.username, credential: c.credential });
  }
  return { iceServers, iceTransportPolicy: "all", ttl };
}

import { createHmac, timingSafeEqual } from "node:crypto";

/** A TURN REST credential (draft-uberti-behave-turn-rest), as coturn's use-auth-secret checks it. */
export interface TurnRestCredential {
  /** `<expiry unix seconds>:<account id>` */
  username: string;
  /** base64(HMAC-SHA1(secret, username)) */
  credential: string;
  /** Expiry, unix seconds. */
  expiresAt: number;
}

/** Default lifetime of a credential, seconds (24 h). */
export const DEFAULT_TURN_TTL_SECONDS = 24 * 60 * 60;

function sign(secret: string, username: string): string {
  return createHmac("sha1", secret).update(username).digest("base64");
}

/**
 * Mints a credential for `account` valid for `ttlSeconds` from `nowMs`.
 * Pure apart from the HMAC: the clock is the caller's.
 */
export function turnRestCredential(secret: string, account: string, ttlSeconds: number, nowMs: number): TurnRestCredential {
  if (secret.length === 0) throw new TypeError("the TURN secret is empty");
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) throw new TypeError("ttlSeconds must be a positive integer");
  if (account.includes(":")) throw new TypeError("an account id used in a TURN username cannot contain ':'");
  const expiresAt = Math.floor(nowMs / 1000) + ttlSeconds;
  const username = `${expiresAt}:${account}`;
  return { username, credential: sign(secret, username), expiresAt };
}

/** Checks a credential the way a TURN server does: signature, then expiry. */
export function checkTurnRestCredential(secret: string, username: string, credential: string, nowMs: number): "ok" | "bad_signature" | "expired" | "malformed" {
  const m = /^(\d+):(.+)$/.exec(username);
  if (!m) return "malformed";
  const expected = Buffer.from(sign(secret, username));
  const given = Buffer.from(credential);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return "bad_signature";
  return Number(m[1]) * 1000 <= nowMs ? "expired" : "ok";
}

import { createHmac, timingSafeEqual } from "node:crypto";

/** The signature of a snapshot URL: HMAC-SHA256 over its path and expiry (unix seconds), base64url. */
export function signSnapshot(secret: Buffer, path: string, expires: number): string {
  return createHmac("sha256", secret).update(`${path}\n${expires}`).digest("base64url");
}

/** Checks a snapshot URL's `expires` and `sig` for `path` at `nowMs`. Pure apart from the HMAC. */
export function checkSnapshot(
  secret: Buffer,
  path: string,
  expires: string | undefined,
  sig: string | undefined,
  nowMs: number,
): "ok" | "expired" | "bad_signature" {
  if (!expires || !sig || !/^\d{1,12}$/.test(expires)) return "bad_signature";
  const expected = Buffer.from(signSnapshot(secret, path, Number(expires)));
  const given = Buffer.from(sig);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return "bad_signature";
  return Number(expires) * 1000 <= nowMs ? "expired" : "ok";
}

/**
 * Short-lived session tokens for the WebSockets: `ts1.<payload>.<mac>`, the
 * payload `{"sub": account, "exp": unix seconds, "iat": unix ms}` in
 * base64url (`iat` lets a token end with its user's password: see
 * BasicAuthenticator) and the MAC
 * HMAC-SHA256 over `ts1.<payload>` with the server's secret. Pure apart from
 * the secret: the caller passes the time.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

/** How long a session token is valid, ms. */
export const SESSION_TTL_MS = 60 * 60 * 1000;
const PREFIX = "ts1.";

/** Why a token was refused (the auth-failure metric's reason). */
export type TokenRefusal = "bad_token" | "expired_token";

/** A token and when it stops being accepted (unix ms). */
export interface IssuedToken {
  token: string;
  expiresAt: number;
}

/** Issues and checks session tokens with one secret. */
export class SessionTokens {
  constructor(
    private readonly secret: Buffer,
    readonly ttlMs = SESSION_TTL_MS,
  ) {
    if (secret.length < 32) throw new TypeError("the session secret needs at least 32 bytes");
  }

  private mac(data: string): Buffer {
    return createHmac("sha256", this.secret).update(data).digest();
  }

  /** Whether a string has the shape of one of our tokens (as opposed to, say, a Firebase ID token). */
  static looksLikeOurs(token: string): boolean {
    return token.startsWith(PREFIX);
  }

  /** A token naming `account`, issued at `nowMs`, valid for ttlMs from then (whole seconds, rounded down). */
  issue(account: string, nowMs: number): IssuedToken {
    const exp = Math.floor((nowMs + this.ttlMs) / 1000);
    const payload = Buffer.from(JSON.stringify({ sub: account, exp, iat: Math.floor(nowMs) })).toString("base64url");
    const signed = PREFIX + payload;
    return { token: `${signed}.${this.mac(signed).toString("base64url")}`, expiresAt: exp * 1000 };
  }

  /** The account a token names and when it was issued (unix ms; 0 for a token from before `iat`), or why it is refused. */
  verify(token: string, nowMs: number): { account: string; issuedAt: number } | TokenRefusal {
    const m = /^(ts1\.([A-Za-z0-9_-]{1,2048}))\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!m) return "bad_token";
    // Compared as text: base64url's last character has spare bits, and only the one spelling we issue is valid.
    const given = Buffer.from(m[3]);
    const expected = Buffer.from(this.mac(m[1]).toString("base64url"));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return "bad_token";
    let claims: unknown;
    try {
      claims = JSON.parse(Buffer.from(m[2], "base64url").toString("utf8"));
    } catch {
      return "bad_token";
    }
    const { sub, exp, iat } = (claims ?? {}) as { sub?: unknown; exp?: unknown; iat?: unknown };
    if (typeof sub !== "string" || sub === "" || typeof exp !== "number" || (iat !== undefined && typeof iat !== "number")) return "bad_token";
    if (exp * 1000 <= nowMs) return "expired_token";
    return { account: sub, issuedAt: iat ?? 0 };
  }
}

/**
 * `--auth basic`: users from users.json. HTTP requests carry HTTP Basic
 * credentials; `POST /api/session` trades them for a short-lived signed
 * token that the sockets' hellos carry. Failed logins are rate limited per
 * client address.
 */
import type { AuthFailureReason } from "../../metrics/metrics.js";
import { createHmac } from "node:crypto";
import { rateLimited } from "../errors.js";
import { refuse, REALM, type Authenticator, type HttpCredentials, type SessionGrant } from "./authenticator.js";
import type { LoginLimits } from "./login-limiter.js";
import type { SessionTokens } from "./session-tokens.js";
import type { UsersFile } from "./users-file.js";

/** How long a successful password check is remembered, so each page load does not cost an scrypt per file. */
const CHECK_CACHE_MS = 5 * 60 * 1000;
const CHECK_CACHE_MAX = 1000;
/** The challenge that makes browsers ask for a user name and password. */
export const BASIC_CHALLENGE = `Basic realm="${REALM}", charset="UTF-8"`;

/** User name and password from an `Authorization: Basic` header, or undefined. */
export function parseBasic(header: string | undefined): { name: string; password: string } | undefined {
  const m = /^Basic ([A-Za-z0-9+/=]{1,4096})$/i.exec(header?.trim() ?? "");
  if (!m) return undefined;
  const text = Buffer.from(m[1], "base64").toString("utf8");
  const colon = text.indexOf(":");
  if (colon <= 0) return undefined;
  return { name: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** What BasicAuthenticator uses. */
export interface BasicDeps {
  users: UsersFile;
  tokens: SessionTokens;
  limiter: LoginLimits;
  /** Counts a refusal by reason (tessera_auth_failures_total). */
  authFailure: (reason: AuthFailureReason) => void;
  now?: () => number;
}

/** HTTP Basic for pages and the API, session tokens for sockets. */
export class BasicAuthenticator implements Authenticator {
  readonly mode = "basic";
  readonly protectsPages = true;
  private readonly now: () => number;
  /** Keys of recent successful checks: HMAC over name, password and stored hash, so a password change invalidates them. */
  private readonly recent = new Map<string, number>();

  constructor(private readonly deps: BasicDeps) {
    this.now = deps.now ?? Date.now;
  }

  async http({ authorization, address }: HttpCredentials): Promise<string> {
    const creds = parseBasic(authorization);
    // No credentials is the browser's first request, not a failed login: challenge it, count nothing.
    if (!creds) refuse("no_credentials", "sign in with your Tessera user name and password", BASIC_CHALLENGE, () => {});
    const wait = await this.deps.limiter.retryAfter(address, this.now());
    if (wait > 0) {
      this.deps.authFailure("rate_limited");
      throw rateLimited("too many failed sign-ins from this address; try again later", wait);
    }
    const hash = this.deps.users.hashOf(creds.name);
    const key = hash && createHmac("sha256", hash).update(`${creds.name}\0${creds.password}`).digest("base64");
    const seen = key ? this.recent.get(key) : undefined;
    if (seen !== undefined && seen > this.now()) return creds.name;
    const result = await this.deps.users.check(creds.name, creds.password);
    if (result !== "ok") {
      await this.deps.limiter.failed(address, this.now());
      refuse(result, "wrong user name or password", BASIC_CHALLENGE, this.deps.authFailure);
    }
    if (key) this.remember(key);
    return creds.name;
  }

  private remember(key: string): void {
    if (this.recent.size >= CHECK_CACHE_MAX) {
      const now = this.now();
      for (const [k, until] of this.recent) if (until <= now) this.recent.delete(k);
      if (this.recent.size >= CHECK_CACHE_MAX) this.recent.delete(this.recent.keys().next().value as string);
    }
    this.recent.set(key, this.now() + CHECK_CACHE_MS);
  }

  async socket(token: string | undefined): Promise<string> {
    const count = this.deps.authFailure;
    if (!token) refuse("no_token", "hello needs a 'token' from POST /api/session", undefined, count);
    const result = this.deps.tokens.verify(token, this.now());
    if (result === "expired_token") refuse(result, "the session token expired; get a new one from POST /api/session", undefined, count);
    if (result === "bad_token") refuse(result, "invalid session token", undefined, count);
    // A removed user's tokens die with them, and so do tokens issued before the user's password was last set
    // (a new password, or the name added again). Salt-free, so a token works on every node of a cluster
    // whose users were added on each node before it was issued.
    const since = this.deps.users.passwordSetAt(result.account);
    if (since === undefined) refuse("unknown_user", "invalid session token", undefined, count);
    if (result.issuedAt < since) refuse("bad_token", "this session token ended with its user's password; sign in again", undefined, count);
    return result.account;
  }

  session(account: string): SessionGrant {
    return { account, ...this.deps.tokens.issue(account, this.now()) };
  }
}

/**
 * Who is calling: every HTTP request and every socket hello goes through one
 * Authenticator, which names the caller's account or throws `unauthorized`
 * (or `rate_limited`). Devices belong to the account that published them, so
 * the account decides everything a caller can see.
 */
import { unauthorized } from "../errors.js";

/** The one account that exists while no authentication is configured. */
export const LOCAL_ACCOUNT = "local";

/** What an HTTP request presents. */
export interface HttpCredentials {
  /** The Authorization header, if any. */
  authorization: string | undefined;
  /** The client's address, for rate limiting failed logins. */
  address: string;
}

/** A session token for the sockets, or none when the mode needs none. */
export interface SessionGrant {
  account: string;
  token: string | null;
  /** Unix ms; null with no token. */
  expiresAt: number | null;
}

/** Decides accounts for one `--auth` mode. */
export interface Authenticator {
  readonly mode: "none" | "basic" | "firebase";
  /** Whether the web pages themselves need credentials (Basic: the browser's sign-in dialog). */
  readonly protectsPages: boolean;
  /** The account of an HTTP request; throws unauthorized with a challenge, or rate_limited. */
  http(creds: HttpCredentials): Promise<string>;
  /** The account a socket hello's token names; throws unauthorized. */
  socket(token: string | undefined): Promise<string>;
  /** What `POST /api/session` answers an authenticated request with. */
  session(account: string, creds: HttpCredentials): SessionGrant;
}

/** `--auth none`: everyone is the local account (only allowed on loopback, or with --insecure-no-auth). */
export class NoAuthenticator implements Authenticator {
  readonly mode = "none";
  readonly protectsPages = false;

  async http(): Promise<string> {
    return LOCAL_ACCOUNT;
  }

  async socket(): Promise<string> {
    return LOCAL_ACCOUNT;
  }

  session(account: string): SessionGrant {
    return { account, token: null, expiresAt: null };
  }
}

/** The realm of every challenge. */
export const REALM = "Tessera";

/** A refusal the metrics count under `reason`; the client sees only `message`. */
export class AuthRefusal extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = "AuthRefusal";
  }
}

/** Maps a refusal to the client's error, counting its reason. */
export function refuse<R extends string>(reason: R, message: string, challenge: string | undefined, count: (reason: R) => void): never {
  count(reason);
  throw unauthorized(message, challenge);
}

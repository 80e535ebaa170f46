/**
 * `--auth firebase`: Firebase ID tokens, verified with firebase-admin, name
 * the account (its uid). HTTP requests carry `Authorization: Bearer <ID
 * token>`, socket hellos carry it as `token`. The web pages themselves are
 * open: they hold no data, and the app needs to load to ask for a token.
 * firebase-admin is imported on first use, so other modes never load it.
 */
import type { AuthFailureReason } from "../../metrics/metrics.js";
import { TesseraError } from "../errors.js";
import type { Logger } from "../log.js";
import { refuse, REALM, type Authenticator, type HttpCredentials, type SessionGrant } from "./authenticator.js";

/** The challenge of a request without a usable ID token. */
export const BEARER_CHALLENGE = `Bearer realm="${REALM}"`;

/** What FirebaseAuthenticator needs. */
export interface FirebaseOptions {
  projectId: string;
  checkRevoked: boolean;
  /** Counts a refusal by reason (tessera_auth_failures_total). */
  authFailure: (reason: AuthFailureReason) => void;
  log: Logger;
}

/** The part of firebase-admin's Auth that is used; tests may pass their own. */
export interface IdTokenVerifier {
  verifyIdToken(token: string, checkRevoked?: boolean): Promise<{ uid: string; exp: number }>;
}

/** firebase-admin's verifier for a project: the emulator when FIREBASE_AUTH_EMULATOR_HOST is set, else Google with GOOGLE_APPLICATION_CREDENTIALS. */
export async function firebaseVerifier(projectId: string): Promise<IdTokenVerifier> {
  const { initializeApp, applicationDefault } = await import("firebase-admin/app");
  const { getAuth } = await import("firebase-admin/auth");
  const useCredentials = !process.env.FIREBASE_AUTH_EMULATOR_HOST && Boolean(process.env.GOOGLE_APPLICATION_CREDENTIALS);
  // A named app per server, so two servers in one process (tests) do not share state.
  const app = initializeApp(
    { projectId, ...(useCredentials ? { credential: applicationDefault() } : {}) },
    `tessera-${projectId}-${Math.random().toString(36).slice(2)}`,
  );
  return getAuth(app);
}

/** The token of an `Authorization: Bearer` header. */
function bearer(header: string | undefined): string | undefined {
  return /^Bearer ([\w.-]{1,8192})$/.exec(header?.trim() ?? "")?.[1];
}

/** Maps firebase-admin's error codes to auth-failure reasons. */
function reasonOf(code: string): AuthFailureReason {
  switch (code) {
    case "auth/id-token-expired":
      return "expired_token";
    case "auth/id-token-revoked":
      return "revoked_token";
    case "auth/user-disabled":
      return "disabled_user";
    case "auth/user-not-found":
      return "unknown_user";
    default:
      return "bad_token";
  }
}

/** Bearer Firebase ID tokens for the API, the same tokens in socket hellos. */
export class FirebaseAuthenticator implements Authenticator {
  readonly mode = "firebase";
  readonly protectsPages = false;
  private verifier: Promise<IdTokenVerifier> | undefined;

  constructor(
    private readonly options: FirebaseOptions,
    verifier?: IdTokenVerifier,
  ) {
    if (verifier) this.verifier = Promise.resolve(verifier);
  }

  /** The uid and expiry (unix s) of a valid ID token; throws unauthorized with `challenge`. */
  private async verify(token: string | undefined, challenge: string | undefined, what: string): Promise<{ uid: string; exp: number }> {
    if (!token) refuse("no_token", `${what} needs a Firebase ID token`, challenge, this.options.authFailure);
    this.verifier ??= firebaseVerifier(this.options.projectId);
    try {
      return await (await this.verifier).verifyIdToken(token, this.options.checkRevoked);
    } catch (err) {
      const code = typeof (err as { code?: unknown }).code === "string" ? (err as { code: string }).code : "";
      if (!code.startsWith("auth/")) {
        // Not the token's fault (e.g. Google's keys could not be fetched): say so, do not count it as a bad token.
        this.options.log.error("firebase token check failed", { err: (err as Error).message });
        throw new TesseraError("internal", "could not check the token", 503, true);
      }
      const reason = reasonOf(code);
      refuse(
        reason,
        reason === "expired_token" ? "the Firebase ID token expired; get a fresh one" : "invalid Firebase ID token",
        challenge,
        this.options.authFailure,
      );
    }
  }

  async http({ authorization }: HttpCredentials): Promise<string> {
    return (await this.verify(bearer(authorization), BEARER_CHALLENGE, "the API")).uid;
  }

  async socket(token: string | undefined): Promise<string> {
    return (await this.verify(token, undefined, "hello")).uid;
  }

  /**
   * The ID token itself serves as the session token, so the web app has one
   * flow for every mode. Called after http() verified the same header, so
   * its expiry can be read without checking again.
   */
  session(account: string, { authorization }: HttpCredentials): SessionGrant {
    const token = bearer(authorization) ?? null;
    let exp: unknown;
    try {
      exp = (JSON.parse(Buffer.from(token?.split(".")[1] ?? "", "base64url").toString("utf8")) as { exp?: unknown }).exp;
    } catch {
      exp = undefined;
    }
    return { account, token, expiresAt: token && typeof exp === "number" ? exp * 1000 : null };
  }
}

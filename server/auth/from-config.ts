/** Builds the Authenticator that `--auth` names. */
import type { AuthFailureReason } from "../../metrics/metrics.js";
import type { Config } from "../config.js";
import { ConfigError } from "../config.js";
import type { Logger } from "../log.js";
import { NoAuthenticator, type Authenticator } from "./authenticator.js";
import { BasicAuthenticator } from "./basic.js";
import { ensureDataDir, loadSessionSecret } from "./data-dir.js";
import { FirebaseAuthenticator } from "./firebase.js";
import { LoginLimiter, type LoginLimits } from "./login-limiter.js";
import { SessionTokens } from "./session-tokens.js";
import { UsersFile } from "./users-file.js";

/** What a cluster shares with its nodes' authenticators. */
export interface SharedAuth {
  /** Signs session tokens instead of the data directory's secret. */
  secret: Buffer;
  /** Counts failed sign-ins across the nodes. */
  limits: LoginLimits;
}

/** The authenticator for the configuration (`shared`: a cluster's secret and sign-in limits); throws ConfigError when its files cannot be used. */
export function authenticatorFor(config: Config, authFailure: (reason: AuthFailureReason) => void, log: Logger, shared?: SharedAuth): Authenticator {
  switch (config.auth) {
    case "none":
      return new NoAuthenticator();
    case "basic": {
      let secret: Buffer;
      const users = new UsersFile(config.dataDir);
      try {
        ensureDataDir(config.dataDir);
        secret = shared?.secret ?? loadSessionSecret(config.dataDir);
        if (users.list().length === 0) log.warn(`no users in ${users.path} yet: add one with 'tessera users add NAME'`);
      } catch (err) {
        throw new ConfigError("--data-dir", (err as Error).message);
      }
      return new BasicAuthenticator({ users, tokens: new SessionTokens(secret), limiter: shared?.limits ?? new LoginLimiter(), authFailure });
    }
    case "firebase":
      if (!process.env.FIREBASE_AUTH_EMULATOR_HOST && config.firebaseCheckRevoked && !process.env.GOOGLE_APPLICATION_CREDENTIALS) {
        throw new ConfigError("--firebase-check-revoked", "needs a service account: set GOOGLE_APPLICATION_CREDENTIALS");
      }
      return new FirebaseAuthenticator({
        projectId: config.firebaseProject,
        checkRevoked: config.firebaseCheckRevoked,
        authFailure,
        log: log.child("firebase"),
      });
  }
}

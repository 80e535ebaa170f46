/**
 * `--firebase-web-config FILE`: the Firebase web app configuration (the
 * `firebaseConfig` object the Firebase console shows, saved as JSON) that the
 * pages need to sign in with the Firebase JS SDK. Served open at
 * `GET /api/auth-config`: every value in it is public by design (it ships in
 * any Firebase web app's JavaScript).
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { ConfigError } from "../config.js";

/** The part of a Firebase web config the pages use. */
export interface FirebaseWebConfig {
  readonly apiKey: string;
  readonly authDomain: string;
  readonly projectId: string;
}

/** What `GET /api/auth-config` answers: the mode, and in firebase mode how to sign in (null: paste a token). */
export interface AuthConfig {
  readonly mode: "none" | "basic" | "firebase";
  readonly firebase?: (FirebaseWebConfig & { readonly emulatorHost?: string }) | null;
}

const OPTION = "--firebase-web-config";

// Other keys of the console's snippet (appId, storageBucket, …) are allowed and ignored.
const schema = z.object({
  apiKey: z
    .string({ error: "apiKey: expected the web API key (a string)" })
    .regex(/^[\w-]{1,200}$/, "apiKey: expected the web API key (letters, digits, - and _)"),
  authDomain: z
    .string({ error: "authDomain: expected a host name such as my-project.firebaseapp.com" })
    .regex(/^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?(:\d{1,5})?$/i, "authDomain: expected a host name such as my-project.firebaseapp.com"),
  projectId: z
    .string({ error: "projectId: expected the Firebase project id" })
    .regex(/^[a-z0-9][a-z0-9-]{3,62}$/, "projectId: expected a Firebase project id such as my-project-123"),
});

/**
 * Reads and checks the web config file; `projectId` must be the project whose
 * tokens the server accepts. Throws ConfigError naming the option.
 */
export function loadFirebaseWebConfig(file: string, firebaseProject: string): FirebaseWebConfig {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ConfigError(OPTION, e.code === "ENOENT" ? `${file}: no such file` : `cannot read ${file}: ${e.message}`);
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    const message = issue.path.length === 0 ? "expected a JSON object with apiKey, authDomain and projectId" : issue.message;
    throw new ConfigError(OPTION, `${file}: ${message}`);
  }
  const { apiKey, authDomain, projectId } = result.data;
  if (projectId !== firebaseProject) {
    throw new ConfigError(
      OPTION,
      `${file}: projectId '${projectId}' is not --firebase-project '${firebaseProject}': the server would refuse every token the pages get`,
    );
  }
  return Object.freeze({ apiKey, authDomain, projectId });
}

/**
 * The answer of `GET /api/auth-config`. `emulatorHost` is the Auth
 * emulator's host:port (FIREBASE_AUTH_EMULATOR_HOST) when the server checks
 * tokens against it: the pages must then sign in there too.
 */
export function authConfigFor(mode: AuthConfig["mode"], web: FirebaseWebConfig | undefined, emulatorHost: string | undefined): AuthConfig {
  if (mode !== "firebase") return { mode };
  if (!web) return { mode, firebase: null };
  return { mode, firebase: { ...web, ...(emulatorHost ? { emulatorHost } : {}) } };
}

/**
 * The origins the Firebase JS SDK talks to when signing in and refreshing
 * tokens, for the pages' connect-src; the emulator's when there is one.
 */
export function firebaseConnectSources(emulatorHost: string | undefined): string[] {
  return ["https://identitytoolkit.googleapis.com", "https://securetoken.googleapis.com", ...(emulatorHost ? [`http://${emulatorHost}`] : [])];
}

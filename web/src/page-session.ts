import {
  adoptFragmentToken,
  linkCredential,
  linkCredentialConfirmed,
  SessionSource,
  type AuthMode,
  type IdTokenSource,
  type LinkCredential,
} from "./session.js";
import type { FirebaseSignInConfig } from "./firebase-sign-in.js";

/** The Firebase SDK sign-in bundle, next to the page's own; a URL esbuild leaves alone, so the SDK stays out of the page's bundle. */
const SIGN_IN_MODULE = new URL("firebase-sign-in.js", import.meta.url).href;

/** What `GET /api/auth-config` answers. */
interface AuthConfig {
  mode: AuthMode;
  firebase?: FirebaseSignInConfig | null;
}

/** The server's answer to `GET /api/auth-config` (which the page's HTML preloads); undefined when it cannot say. */
async function fetchAuthConfig(): Promise<AuthConfig | undefined> {
  try {
    const res = await fetch("/api/auth-config", { credentials: "same-origin" });
    return res.ok ? ((await res.json()) as AuthConfig) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The Firebase SDK sign-in when the server serves a web config (loading the
 * SDK only then, and showing its form in the page's header); undefined when
 * it does not, or cannot say (the page then takes a token as before).
 */
async function firebaseSignIn(config: AuthConfig | undefined): Promise<IdTokenSource | undefined> {
  if (config?.mode !== "firebase" || !config.firebase) return undefined;
  const { startFirebaseSignIn } = (await import(SIGN_IN_MODULE)) as typeof import("./firebase-sign-in.js");
  return startFirebaseSignIn(config.firebase, document.querySelector<HTMLElement>("header.bar") ?? document.body);
}

/**
 * The credential a link (`#token=`, `#key=`) put in this tab that the user
 * has not yet acted on, once pageSession has run: whoever made the link
 * chose the account the page then acts for.
 */
export function credentialFromLink(): LinkCredential | undefined {
  return linkCredential(sessionStorage);
}

/** The user started publishing by hand with the link's credential. */
export function confirmCredentialFromLink(): void {
  linkCredentialConfirmed(sessionStorage);
}

/**
 * The page's session source: a `#token=` fragment adopted first, then
 * sessionStorage; the Firebase SDK's sign-in form when the server serves a
 * web config, else a prompt to paste an ID token.
 */
export function pageSession(): SessionSource {
  adoptFragmentToken(location, sessionStorage, (url) => history.replaceState(null, "", url));
  let config: Promise<AuthConfig | undefined> | undefined;
  const authConfig = () => (config ??= fetchAuthConfig());
  let signIn: Promise<IdTokenSource | undefined> | undefined;
  return new SessionSource(
    sessionStorage,
    () => window.prompt("This Tessera server signs in with Firebase. Paste a Firebase ID token:") ?? undefined,
    undefined,
    undefined,
    () => (signIn ??= authConfig().then(firebaseSignIn)),
    async () => (await authConfig())?.mode,
  );
}

/**
 * Shows the account the page acts for, from the server's `welcome`: a link
 * may have signed the page in as someone else (`#token=`, `#key=`).
 */
export function showAccount(el: HTMLElement, account: string): void {
  el.textContent = account;
  el.title = `This page acts for account ${account}`;
  el.hidden = false;
}

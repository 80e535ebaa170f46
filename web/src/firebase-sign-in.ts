/**
 * Sign-in with the Firebase JS SDK, for `--auth firebase` servers that serve
 * a web config (`GET /api/auth-config`). Built as its own bundle,
 * `/firebase-sign-in.js`, which the pages import only then: the SDK never
 * weighs on the viewer otherwise.
 *
 * Test hooks (e2e/ relies on these; keep them stable):
 * - `#account[data-state]`: "loading" | "signed-out" | "signing-in" | "signed-in"
 * - `#sign-in` form with `#sign-in-email`, `#sign-in-password`; `#sign-in-error`
 * - `#account-email`, `#sign-out`
 */
import { initializeApp } from "firebase/app";
import {
  browserLocalPersistence,
  connectAuthEmulator,
  indexedDBLocalPersistence,
  initializeAuth,
  onIdTokenChanged,
  signInWithEmailAndPassword,
  signOut,
  type User,
} from "firebase/auth";
import type { IdTokenSource } from "./session.js";

/** The `firebase` part of `GET /api/auth-config`. */
export interface FirebaseSignInConfig {
  apiKey: string;
  authDomain: string;
  projectId: string;
  /** host:port of the Auth emulator the server checks tokens against. */
  emulatorHost?: string;
}

type AccountState = "loading" | "signed-out" | "signing-in" | "signed-in";

/** Words for the SDK's error codes a person signing in can act on. */
function explain(err: unknown): string {
  const code = typeof (err as { code?: unknown }).code === "string" ? (err as { code: string }).code : "";
  switch (code) {
    case "auth/invalid-credential":
    case "auth/wrong-password":
    case "auth/user-not-found":
    case "auth/invalid-email":
      return "Wrong e-mail or password.";
    case "auth/user-disabled":
      return "This account is disabled.";
    case "auth/too-many-requests":
      return "Too many attempts; try again later.";
    case "auth/network-request-failed":
      return "Could not reach Firebase.";
    default:
      return code ? `Sign-in failed (${code}).` : `Sign-in failed: ${(err as Error).message}`;
  }
}

/** One element with attributes and children. */
function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string>, ...children: Array<Node | string>): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

/**
 * Signs this page in with e-mail and password through the Firebase SDK and
 * hands out the user's ID token, which the SDK refreshes before it expires.
 * Puts a sign-in form (or the signed-in e-mail and a sign-out button) into
 * `mount`. Signing out, or another tab signing in as someone else, reloads
 * the page: its sockets and pictures belong to the account that left.
 */
export function startFirebaseSignIn(config: FirebaseSignInConfig, mount: HTMLElement): IdTokenSource {
  const app = initializeApp({ apiKey: config.apiKey, authDomain: config.authDomain, projectId: config.projectId }, "tessera");
  // No popup/redirect resolver: e-mail and password need none, and it would load Google's scripts into the page.
  const auth = initializeAuth(app, { persistence: [indexedDBLocalPersistence, browserLocalPersistence] });
  if (config.emulatorHost) connectAuthEmulator(auth, `http://${config.emulatorHost}`, { disableWarnings: true });

  const email = el("input", { id: "sign-in-email", type: "email", autocomplete: "username", placeholder: "E-mail", required: "" });
  const password = el("input", { id: "sign-in-password", type: "password", autocomplete: "current-password", placeholder: "Password", required: "" });
  const submit = el("button", { type: "submit", class: "button primary" }, "Sign in");
  const error = el("span", { id: "sign-in-error", class: "sign-in-error", role: "alert" });
  const form = el("form", { id: "sign-in", class: "sign-in" }, email, password, submit, error);
  const who = el("span", { id: "account-email", class: "account-email" });
  const signOutButton = el("button", { id: "sign-out", type: "button", class: "button small" }, "Sign out");
  const signedIn = el("span", { class: "signed-in" }, who, signOutButton);
  const root = el("div", { id: "account", class: "account", "data-state": "loading" }, form, signedIn);
  mount.append(root);

  const show = (state: AccountState) => {
    root.dataset.state = state;
    form.hidden = state === "signed-in" || state === "loading";
    signedIn.hidden = state !== "signed-in";
    submit.disabled = state === "signing-in";
  };
  show("loading");

  let user: User | null = null;
  let signedInUid: string | undefined;
  const waiting: Array<(u: User) => void> = [];
  onIdTokenChanged(auth, (next) => {
    if (signedInUid !== undefined && next?.uid !== signedInUid) {
      // Signed out, or another tab signed in as someone else: start over as whoever is signed in now.
      location.reload();
      return;
    }
    user = next;
    if (!next) {
      show("signed-out");
      if (document.activeElement === document.body) email.focus();
      return;
    }
    signedInUid = next.uid;
    who.textContent = next.email ?? next.uid;
    show("signed-in");
    for (const resolve of waiting.splice(0)) resolve(next);
  });

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    error.textContent = "";
    show("signing-in");
    signInWithEmailAndPassword(auth, email.value.trim(), password.value).then(
      () => (password.value = ""),
      (err: unknown) => {
        error.textContent = explain(err);
        show("signed-out");
      },
    );
  });
  signOutButton.addEventListener("click", () => {
    void signOut(auth);
  });

  return {
    async idToken(refresh = false) {
      const u = user ?? (await new Promise<User>((resolve) => waiting.push(resolve)));
      return u.getIdToken(refresh);
    },
  };
}

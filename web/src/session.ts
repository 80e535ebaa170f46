/**
 * The token the sockets' hellos carry. With `--auth basic` the browser
 * already holds the Basic credentials it was asked for when the page loaded,
 * and `POST /api/session` turns them into a one-hour token; with `--auth
 * firebase` the page signs in with the Firebase SDK when the server serves a
 * web config, and otherwise is given a Firebase ID token (a `#token=`
 * fragment or the paste prompt), kept in sessionStorage; either way the ID
 * token is the Bearer token for the API and the hellos' token. With `--auth
 * none` there is no token. Tokens never go in URLs the server sees: the
 * fragment is never sent, and is removed at once.
 */

/** Where a Firebase ID token is kept for this tab. */
const STORAGE_KEY = "tessera.idToken";
/** Fetch a new session token this long before the current one expires, ms. */
export const REFRESH_MARGIN_MS = 5 * 60 * 1000;

type Fetch = (
  url: string,
  init: { method: string; credentials: "same-origin"; headers: Record<string, string> },
) => Promise<{
  ok: boolean;
  status: number;
  headers: { get(name: string): string | null };
  json(): Promise<unknown>;
}>;

/** Minimal storage, so the module builds and is tested outside a browser. */
export interface TokenStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** Where a device key (`#key=tk_…` on the device page) is kept for this tab. */
const KEY_STORAGE_KEY = "tessera.deviceKey";

/** A credential a link carried: a Firebase ID token, or a device key with its id (`tk_…`, the part before the dot). */
export type LinkCredential = { kind: "token" } | { kind: "key"; keyId: string };

/**
 * Moves a `#token=` fragment (a Firebase ID token) or a `#key=` fragment (a
 * device key) into storage and out of the address bar; returns what it
 * took, if anything.
 */
export function adoptFragmentToken(
  loc: { hash: string; pathname: string; search: string },
  storage: TokenStorage,
  replace: (url: string) => void,
): LinkCredential | undefined {
  const m = /^#(token|key)=([\w.-]+)$/.exec(loc.hash);
  if (!m) return undefined;
  storage.setItem(m[1] === "key" ? KEY_STORAGE_KEY : STORAGE_KEY, m[2]);
  const taken: LinkCredential = m[1] === "key" ? { kind: "key", keyId: m[2].split(".")[0] } : { kind: "token" };
  // Kept with it for the tab's later loads too: whoever opened the tab can load it again without the fragment.
  storage.setItem(LINK_STORAGE_KEY, JSON.stringify(taken));
  replace(loc.pathname + loc.search);
  return taken;
}

/** Where the credential a link put in storage is noted until the user acts on it (see linkCredential). */
const LINK_STORAGE_KEY = "tessera.linkCredential";

/** The credential a link put in this tab's storage and the user has not yet acted on, if any. */
export function linkCredential(storage: TokenStorage): LinkCredential | undefined {
  try {
    const v = JSON.parse(storage.getItem(LINK_STORAGE_KEY) ?? "null") as LinkCredential | null;
    return v?.kind === "token" || (v?.kind === "key" && typeof v.keyId === "string") ? v : undefined;
  } catch {
    return undefined;
  }
}

/** The user acted on the link's credential (started publishing with it by hand). */
export function linkCredentialConfirmed(storage: TokenStorage): void {
  storage.removeItem(LINK_STORAGE_KEY);
}

/** The device key this tab was given, if any: a device page then publishes with it instead of a session token. */
export function storedDeviceKey(storage: TokenStorage): string | undefined {
  return storage.getItem(KEY_STORAGE_KEY) ?? undefined;
}

/** A Firebase user signed in with the SDK: its ID token, kept fresh by the SDK. */
export interface IdTokenSource {
  /** The current ID token (a new one when `refresh`); waits until someone has signed in. */
  idToken(refresh?: boolean): Promise<string>;
}

/** The server's sign-in mode, as `GET /api/auth-config` says it. */
export type AuthMode = "none" | "basic" | "firebase";

/** Keeps a session token fresh for hellos, and the headers the API wants. */
export class SessionSource {
  private cached: { token: string | null; expiresAt: number | null } | undefined;
  private refreshIdToken = false;
  /** Whether a server that said `--auth none` is taken at its word: until the first `invalidate()`. */
  private trustNone = true;

  constructor(
    private readonly storage: TokenStorage,
    /** Asks the user for a Firebase ID token when the server wants one; undefined when they decline. */
    private readonly askForToken: () => string | undefined,
    private readonly fetchFn: Fetch = (url, init) => fetch(url, init),
    private readonly now: () => number = () => Date.now(),
    /** The Firebase SDK sign-in when the server serves a web config, else undefined; asked on each use, so it should remember its answer. */
    private readonly signIn: () => Promise<IdTokenSource | undefined> = async () => undefined,
    /** The server's sign-in mode, undefined when it cannot say; asked on each use, so it should remember its answer. */
    private readonly authMode: () => Promise<AuthMode | undefined> = async () => undefined,
  ) {}

  /**
   * Headers for API requests: a Bearer ID token when this tab was given one,
   * else the signed-in user's (Basic credentials the browser adds itself).
   */
  async headers(): Promise<Record<string, string>> {
    const id = this.storage.getItem(STORAGE_KEY) ?? (await this.signedInToken());
    return id ? { Authorization: `Bearer ${id}` } : {};
  }

  /** The SDK user's ID token, waiting for the sign-in; undefined when the page does not sign in with the SDK. */
  private async signedInToken(): Promise<string | undefined> {
    const sdk = await this.signIn();
    if (!sdk) return undefined;
    const refresh = this.refreshIdToken;
    this.refreshIdToken = false;
    return sdk.idToken(refresh);
  }

  /**
   * The token for the next hello; undefined with `--auth none`, which needs
   * no request once the server has said so. A token the tab was given wins;
   * then the SDK's ID token (no request: the SDK keeps it fresh); else
   * `POST /api/session`, again near expiry and after `invalidate()`.
   */
  async token(): Promise<string | undefined> {
    if (this.trustNone && (await this.authMode()) === "none") return undefined;
    if (!this.storage.getItem(STORAGE_KEY)) {
      const id = await this.signedInToken();
      if (id) return id;
    }
    const c = this.cached;
    if (c && (c.expiresAt === null || c.expiresAt - REFRESH_MARGIN_MS > this.now())) return c.token ?? undefined;
    for (let attempt = 0; attempt < 2; attempt++) {
      const given = this.storage.getItem(STORAGE_KEY);
      const res = await this.fetchFn("/api/session", {
        method: "POST",
        credentials: "same-origin",
        headers: given ? { Authorization: `Bearer ${given}` } : {},
      });
      if (res.ok) {
        const body = (await res.json()) as { token: string | null; expiresAt: number | null };
        this.cached = { token: body.token, expiresAt: body.expiresAt };
        return body.token ?? undefined;
      }
      // A Bearer challenge is --auth firebase: the stored ID token is missing or expired; ask once.
      if (res.status === 401 && /^Bearer/i.test(res.headers.get("WWW-Authenticate") ?? "") && attempt === 0) {
        this.storage.removeItem(STORAGE_KEY);
        // A given token the server refused: the SDK's sign-in takes over when the page has it.
        const signedIn = given ? await this.signedInToken() : undefined;
        if (signedIn) return signedIn;
        const id = this.askForToken();
        if (id) {
          this.storage.setItem(STORAGE_KEY, id.trim());
          continue;
        }
      }
      throw new Error(`POST /api/session: ${res.status}`);
    }
    throw new Error("POST /api/session: not signed in");
  }

  /** Starts the SDK sign-in now (its form shows at once) unless the tab was given a token, rather than at the first use. */
  prepare(): void {
    if (!this.storage.getItem(STORAGE_KEY)) void this.signIn().catch(() => undefined);
  }

  /** Forgets the cached token (e.g. after the server refused it); the SDK is asked for a new ID token. */
  invalidate(): void {
    this.cached = undefined;
    this.trustNone = false;
    this.refreshIdToken = true;
  }
}

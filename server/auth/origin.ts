/**
 * Which pages may open Tessera's WebSockets. Browsers send `Origin` on every
 * WebSocket upgrade and cookies or Basic credentials ride along, so a page
 * of another site must not get a socket in the user's name (cross-site
 * WebSocket hijacking). Clients that are not browsers send no Origin.
 */
import { isIP } from "node:net";

/**
 * Whether an upgrade with this Origin may proceed: no Origin, the server's
 * own origin (its Host header, over http or https), or one of `allowed`
 * (already normalised with `new URL(x).origin`).
 */
export function originAllowed(origin: string | undefined, host: string | undefined, allowed: readonly string[]): boolean {
  if (origin === undefined) return true;
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return false;
  }
  // "null" (sandboxed frames, file: pages) and other schemes never match.
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return false;
  if (allowed.includes(parsed.origin)) return true;
  // A Host header is a host name or address with an optional port, nothing more.
  if (!host || !/^[A-Za-z0-9.\-:[\]]{1,260}$/.test(host)) return false;
  let own: URL;
  try {
    own = new URL(`${parsed.protocol}//${host}`);
  } catch {
    return false;
  }
  return own.host === parsed.host;
}

/**
 * Whether a request with this Host header may be served with `--auth none`.
 * DNS rebinding points a name the attacker owns at 127.0.0.1, which makes
 * the attacker's page same-origin with the server; with no sign-in nothing
 * else would stop it. IP literals and localhost cannot be rebound, and
 * `names` are the server's own (--public-url's host, a --host name). No Host
 * at all is a client that is not a browser.
 */
export function hostServedWithoutAuth(host: string | undefined, names: readonly string[]): boolean {
  if (!host) return true;
  if (!/^[A-Za-z0-9.\-:[\]]{1,260}$/.test(host)) return false;
  let hostname: string;
  try {
    hostname = new URL(`http://${host}`).hostname.toLowerCase();
  } catch {
    return false;
  }
  if (hostname.startsWith("[") || isIP(hostname) !== 0) return true;
  if (hostname === "localhost" || hostname.endsWith(".localhost")) return true;
  return names.some((n) => n.toLowerCase() === hostname);
}

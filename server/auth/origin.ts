/**
 * Which pages may open Tessera's WebSockets. Browsers send `Origin` on every
 * WebSocket upgrade and cookies or Basic credentials ride along, so a page
 * of another site must not get a socket in the user's name (cross-site
 * WebSocket hijacking). Clients that are not browsers send no Origin.
 */

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

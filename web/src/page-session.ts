import { adoptFragmentToken, SessionSource } from "./session.js";

/** The page's session source: sessionStorage, a prompt for the ID token, a `#token=` fragment adopted first. */
export function pageSession(): SessionSource {
  adoptFragmentToken(location, sessionStorage, (url) => history.replaceState(null, "", url));
  return new SessionSource(sessionStorage, () => window.prompt("This Tessera server signs in with Firebase. Paste a Firebase ID token:") ?? undefined);
}

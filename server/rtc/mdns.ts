/**
 * Browsers hide their host addresses behind mDNS names (`<uuid>.local`,
 * RFC 8828) unless the page may use the camera: a viewer page's host
 * candidates come that way. werift would look each name up by multicast
 * DNS, which only the browser's own link answers, and waits up to 10 s for
 * an answer: a candidate that arrives before the viewer's answer is applied
 * holds the start of ICE that long. The server never passes them on. It
 * loses nothing: the browser's checks reach the server from its real
 * address, and werift checks back to it as a peer-reflexive candidate.
 */

/** True when a candidate (`candidate:…` or `a=candidate:…`) names its address by mDNS. */
export function isMdnsCandidate(candidate: string): boolean {
  const address = candidate.trim().split(/\s+/)[4];
  return address !== undefined && address.toLowerCase().endsWith(".local");
}

/** The SDP without its mDNS candidates. */
export function withoutMdnsCandidates(sdp: string): string {
  if (!sdp.includes(".local")) return sdp;
  return sdp
    .split(/(?<=\n)/)
    .filter((line) => !(line.startsWith("a=candidate:") && isMdnsCandidate(line)))
    .join("");
}

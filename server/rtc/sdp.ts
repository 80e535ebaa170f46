/** Small SDP edits the server makes to its own descriptions. */

/**
 * Drops `a=candidate` lines whose address is not one of `allowed`, so a
 * server pinned to some hosts never advertises the others. Empty `allowed`
 * keeps everything.
 */
export function keepCandidates(sdp: string, allowed: readonly string[]): string {
  if (allowed.length === 0) return sdp;
  const keep = new Set(allowed);
  return sdp
    .split("\r\n")
    .filter((line) => {
      if (!line.startsWith("a=candidate:")) return true;
      const address = line.split(" ")[4];
      return address !== undefined && keep.has(address);
    })
    .join("\r\n");
}

/**
 * The server's own SDP as clients see it: candidates limited to `iceHosts`,
 * and with `publicIp`, host candidates (and the default address) carrying
 * that address instead, the way a host behind 1:1 NAT must announce itself.
 */
export function localSdpForClients(sdp: string, rtc: { iceHosts: readonly string[]; publicIp?: string }): string {
  const kept = keepCandidates(sdp, rtc.iceHosts);
  const publicIp = rtc.publicIp;
  if (!publicIp) return kept;
  return kept
    .split("\r\n")
    .map((line) => {
      if (line.startsWith("c=IN IP4 ")) return `c=IN IP4 ${publicIp}`;
      if (!line.startsWith("a=candidate:") || !/ typ host( |$)/.test(line)) return line;
      const parts = line.split(" ");
      parts[4] = publicIp;
      return parts.join(" ");
    })
    .join("\r\n");
}

/**
 * The codec names of the first m-section of `kind` in an SDP, in the
 * sender's order of preference (the order of its payload types).
 */
export function offeredCodecOrder(sdp: string, kind: "video" | "audio"): string[] {
  const lines = sdp.split(/\r?\n/);
  const start = lines.findIndex((l) => l.startsWith(`m=${kind} `));
  if (start < 0) return [];
  const payloadTypes = lines[start].split(" ").slice(3);
  const names = new Map<string, string>();
  for (let i = start + 1; i < lines.length && !lines[i].startsWith("m="); i++) {
    const m = /^a=rtpmap:(\d+) ([^/]+)\//.exec(lines[i]);
    if (m) names.set(m[1], m[2].toLowerCase());
  }
  const out: string[] = [];
  for (const pt of payloadTypes) {
    const name = names.get(pt);
    if (name && !out.includes(name)) out.push(name);
  }
  return out;
}

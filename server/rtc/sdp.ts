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

/** A cheap structural check before handing SDP to the stack: v=0 first, at least one m= line. */
export function looksLikeSdp(sdp: string): boolean {
  return /^v=0\r?\n/.test(sdp) && /\r?\nm=(audio|video|application) /.test(sdp);
}

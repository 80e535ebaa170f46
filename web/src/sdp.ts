/** The little SDP reading the web app needs. Pure, for e2e/input-lines.test.ts. */

/** One media section's kind, mid and direction. */
export interface MediaSection {
  kind: string;
  mid: string | undefined;
  direction: "sendrecv" | "sendonly" | "recvonly" | "inactive";
}

/** The offer's m-sections in order (the session-level direction is the default). */
export function mediaSections(sdp: string): MediaSection[] {
  const sections: MediaSection[] = [];
  let sessionDirection: MediaSection["direction"] = "sendrecv";
  let current: MediaSection | undefined;
  for (const raw of sdp.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith("m=")) {
      current = { kind: line.slice(2).split(" ")[0], mid: undefined, direction: sessionDirection };
      sections.push(current);
    } else if (line.startsWith("a=mid:")) {
      if (current) current.mid = line.slice(6);
    } else if (/^a=(sendrecv|sendonly|recvonly|inactive)$/.test(line)) {
      const direction = line.slice(2) as MediaSection["direction"];
      if (current) current.direction = direction;
      else sessionDirection = direction;
    }
  }
  return sections;
}

/**
 * The mid of the section where the server receives a viewer's microphone:
 * the (last) audio section the server's offer marks recvonly.
 */
export function talkMid(offerSdp: string): string | undefined {
  return mediaSections(offerSdp)
    .filter((s) => s.kind === "audio" && s.direction === "recvonly")
    .at(-1)?.mid;
}

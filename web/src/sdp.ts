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

/** Payload formats that only carry other ones (retransmission, redundancy, FEC). */
const CARRIERS = new Set(["rtx", "red", "ulpfec", "flexfec-03"]);

/**
 * The video codecs (encoding names, lower case) an offer would send us: those
 * of its video sections that send (sendonly or sendrecv), carriers left out.
 */
export function offeredVideoCodecs(sdp: string): string[] {
  const codecs = new Set<string>();
  let video = false;
  let direction = "sendrecv";
  let names: string[] = [];
  const flush = () => {
    if (video && (direction === "sendonly" || direction === "sendrecv")) names.forEach((n) => codecs.add(n));
  };
  for (const raw of sdp.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith("m=")) {
      flush();
      video = line.startsWith("m=video ");
      direction = "sendrecv";
      names = [];
    } else if (/^a=(sendrecv|sendonly|recvonly|inactive)$/.test(line)) {
      direction = line.slice(2);
    } else {
      const m = /^a=rtpmap:\d+ ([^/\s]+)\//.exec(line);
      if (m && !CARRIERS.has(m[1].toLowerCase())) names.push(m[1].toLowerCase());
    }
  }
  flush();
  return [...codecs];
}

/** True when some video section of an answer was refused (port 0): the browser can decode none of its codecs. */
export function videoRefused(answerSdp: string): boolean {
  return answerSdp.split(/\r?\n/).some((l) => /^m=video 0 /.test(l.trim()));
}

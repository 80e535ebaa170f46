import { badRequest } from "../errors.js";
import { ICE_PWD, ICE_UFRAG, MAX_SDP_CANDIDATES } from "../rtc/limits.js";

/** What a trickle-ICE SDP fragment (RFC 8840, `application/trickle-ice-sdpfrag`) carries. */
export interface SdpFragment {
  ufrag: string | undefined;
  pwd: string | undefined;
  candidates: Array<{ candidate: string; sdpMid: string | null; sdpMLineIndex: number | null }>;
  /** `a=end-of-candidates` was present. */
  end: boolean;
}

/** Reads the ICE lines of a fragment; other lines are ignored; bad_request past MAX_SDP_CANDIDATES candidates. Pure. */
export function parseSdpFragment(text: string): SdpFragment {
  const out: SdpFragment = { ufrag: undefined, pwd: undefined, candidates: [], end: false };
  let mid: string | null = null;
  let index = -1;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith("m=")) {
      index++;
      mid = null;
    } else if (line.startsWith("a=mid:")) mid = line.slice(6);
    else if (line.startsWith("a=ice-ufrag:")) out.ufrag = line.slice(12);
    else if (line.startsWith("a=ice-pwd:")) out.pwd = line.slice(10);
    else if (line.startsWith("a=candidate:")) out.candidates.push({ candidate: line.slice(2), sdpMid: mid ?? "0", sdpMLineIndex: index >= 0 ? index : 0 });
    else if (line === "a=end-of-candidates") out.end = true;
  }
  if (out.candidates.length > MAX_SDP_CANDIDATES) throw badRequest(`the fragment has ${out.candidates.length} candidates; at most ${MAX_SDP_CANDIDATES}`);
  // Found by the fuzzer: an empty a=ice-ufrag restarted ICE into a werift TypeError (a 500).
  if (out.ufrag !== undefined && !ICE_UFRAG.test(out.ufrag)) throw badRequest("the fragment's a=ice-ufrag is not 4 to 256 letters, digits, '+' or '/'");
  if (out.pwd !== undefined && !ICE_PWD.test(out.pwd)) throw badRequest("the fragment's a=ice-pwd is not 22 to 256 letters, digits, '+' or '/'");
  return out;
}

/** `Link` header values advertising ICE servers (RFC 9725 §4.4). */
export function iceServerLinks(servers: ReadonlyArray<{ urls: string | readonly string[]; username?: string; credential?: string }>): string[] {
  const links: string[] = [];
  for (const s of servers) {
    for (const url of typeof s.urls === "string" ? [s.urls] : s.urls) {
      let link = `<${url}>; rel="ice-server"`;
      if (s.username !== undefined && s.credential !== undefined) {
        link += `; username="${s.username.replace(/"/g, "")}"; credential="${s.credential.replace(/"/g, "")}"; credential-type="password"`;
      }
      links.push(link);
    }
  }
  return links;
}

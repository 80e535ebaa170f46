/**
 * ICE restarts the remote side starts without a new offer (WHIP/WHEP `PATCH`,
 * RFC 9725 §4.3.2): it sends new ICE credentials, the server, as answerer,
 * renegotiates with them and hands back its own new credentials and
 * candidates. DTLS and SRTP carry on over the new ICE pair; tracks stay.
 */
import { IceCandidate, type RTCPeerConnection } from "werift";
import { badRequest } from "../errors.js";
import { isMdnsCandidate } from "./mdns.js";
import { rejected, whileOpen } from "./while-open.js";

/** New remote ICE credentials, and the candidates that came with them. */
export interface RemoteIceRestart {
  ufrag: string;
  pwd: string;
  candidates: ReadonlyArray<{ candidate: string; sdpMid: string | null; sdpMLineIndex: number | null }>;
}

/** The server's side of a restart, ready for an sdpfrag answer. */
export interface LocalIceParameters {
  ufrag: string;
  pwd: string;
  /** The first (bundled) media section: its m= line and mid, and its candidates (`candidate:…`, no `a=`). */
  media: { mLine: string; mid: string } | undefined;
  candidates: string[];
}

/** What a WHIP/WHEP session resource's `PATCH` talks to: a peer the server answered. */
export interface IceEnd {
  readonly remoteIceUfrag: string | undefined;
  addCandidate(candidate: { candidate: string; sdpMid: string | null; sdpMLineIndex: number | null }): Promise<void>;
  restartIce(restart: RemoteIceRestart): Promise<LocalIceParameters>;
}

/** The ICE username fragment of a session description (the first one; bundled sections share it). */
export function iceUfragOf(sdp: string | undefined): string | undefined {
  return sdp ? /^a=ice-ufrag:(\S+)/m.exec(sdp)?.[1] : undefined;
}

/** `sdp` with every ICE credential replaced and no candidates: the remote offer as it stands after a restart. Pure. */
export function withNewIceCredentials(sdp: string, restart: { ufrag: string; pwd: string }): string {
  const lines = sdp.split(/\r?\n/).filter((l) => l !== "" && !l.startsWith("a=candidate:") && l !== "a=end-of-candidates");
  return (
    lines
      .map((l) => (l.startsWith("a=ice-ufrag:") ? `a=ice-ufrag:${restart.ufrag}` : l.startsWith("a=ice-pwd:") ? `a=ice-pwd:${restart.pwd}` : l))
      .join("\r\n") + "\r\n"
  );
}

/**
 * Why werift would refuse `c` as a candidate of the session `sdp` describes
 * (it is no ICE candidate, or names a media section the session does not
 * have), or undefined when it would take it. Pure.
 */
export function unusableCandidate(sdp: string, c: { candidate: string; sdpMid: string | null; sdpMLineIndex: number | null }): string | undefined {
  if (!IceCandidate.fromJSON(c)) return `'${c.candidate.slice(0, 80)}' is no ICE candidate`;
  const sections = sdp.split(/\r?\n(?=m=)/).slice(1);
  if (c.sdpMid !== null) {
    const mids = sections.map((m) => /^a=mid:(\S+)/m.exec(m)?.[1]);
    return mids.includes(c.sdpMid) ? undefined : `the session has no media section with mid '${c.sdpMid.slice(0, 32)}'`;
  }
  if (c.sdpMLineIndex !== null && (c.sdpMLineIndex < 0 || c.sdpMLineIndex >= sections.length)) {
    return `the session has no media section ${c.sdpMLineIndex}`;
  }
  return undefined;
}

/** The ICE parameters of a local description: credentials, the first media section, its candidates. Pure. */
export function localIceParameters(sdp: string): LocalIceParameters {
  const ufrag = /^a=ice-ufrag:(\S+)/m.exec(sdp)?.[1];
  const pwd = /^a=ice-pwd:(\S+)/m.exec(sdp)?.[1];
  if (!ufrag || !pwd) throw new Error("the local description has no ICE credentials");
  const sections = sdp.split(/\r?\n(?=m=)/);
  const first = sections[1];
  const mLine = first?.split(/\r?\n/)[0];
  const mid = first ? /^a=mid:(\S+)/m.exec(first)?.[1] : undefined;
  const candidates = first ? [...first.matchAll(/^a=(candidate:[^\r\n]+)/gm)].map((m) => m[1]) : [];
  return { ufrag, pwd, media: mLine && mid !== undefined ? { mLine, mid } : undefined, candidates };
}

/** An RFC 8840 fragment of the server's new credentials and candidates, the body of the 200 answer. Pure. */
export function iceFragment(p: LocalIceParameters): string {
  const lines = [`a=ice-ufrag:${p.ufrag}`, `a=ice-pwd:${p.pwd}`];
  if (p.media) lines.push(p.media.mLine, `a=mid:${p.media.mid}`, ...p.candidates.map((c) => `a=${c}`), "a=end-of-candidates");
  return lines.join("\r\n") + "\r\n";
}

/**
 * ICE restarts of an answering peer with the remote side's new credentials:
 * its current offer with them goes in as a new offer, and the new answer's
 * credentials and candidates come back (host addresses rewritten by
 * `forClients`, as for every answer the server gives).
 *
 * werift renews the ICE agent on the new credentials but starts no checks
 * while DTLS is up (its connect step returns early), so the renewed
 * transports are started here once the remote candidates are in.
 */
export class AnswererIceRestarts {
  /** A restart came without candidates: checks start with the first one trickled after it. */
  private waitingForCandidates = false;

  constructor(
    private readonly pc: RTCPeerConnection,
    private readonly forClients: (sdp: string) => string,
  ) {}

  /** The remote side's current ICE username fragment, to tell a restart from a trickle. */
  get remoteUfrag(): string | undefined {
    return iceUfragOf(this.pc.remoteDescription?.sdp);
  }

  async restart(restart: RemoteIceRestart): Promise<LocalIceParameters> {
    const remote = this.pc.remoteDescription?.sdp;
    if (!remote) throw new Error("no remote description to restart");
    const candidates = restart.candidates.filter((c) => !isMdnsCandidate(c.candidate));
    // Checked before anything is applied: a refused restart leaves the session as it was.
    for (const c of candidates) {
      const why = unusableCandidate(remote, c);
      if (why) throw badRequest(`candidate rejected: ${why}`);
    }
    const pc = this.pc;
    try {
      await whileOpen(pc, async () => {
        await pc.setRemoteDescription({ type: "offer", sdp: withNewIceCredentials(remote, restart) });
        await pc.setLocalDescription(await pc.createAnswer());
      });
    } catch (err) {
      throw rejected("restart", err);
    }
    const local = this.pc.localDescription;
    if (!local) throw new Error("no local description after the restart");
    for (const c of candidates) {
      try {
        await this.pc.addIceCandidate(c);
      } catch (err) {
        throw rejected("candidate", err);
      }
    }
    this.waitingForCandidates = restart.candidates.length === 0;
    if (!this.waitingForCandidates) startRenewedTransports(this.pc);
    return localIceParameters(this.forClients(local.sdp));
  }

  /** After a candidate was added: the first one after a restart without candidates starts the checks. */
  candidateAdded(): void {
    if (!this.waitingForCandidates) return;
    this.waitingForCandidates = false;
    startRenewedTransports(this.pc);
  }
}

/**
 * Starts the ICE checks of transports a restart left without a candidate
 * pair (see AnswererIceRestarts). A failure shows in the peer's connection
 * state, which closes the session as any failed connection does.
 */
export function startRenewedTransports(pc: RTCPeerConnection): void {
  for (const t of pc.iceTransports) {
    if (t.state !== "closed" && t.getSelectedCandidatePair() === null) t.start().catch(() => undefined);
  }
}

/**
 * Bounds on what a remote peer may hand the WebRTC stack. werift's
 * bookkeeping grows faster than linearly with m-sections and candidates, so
 * one oversized offer or a flood of trickled candidates would stall the
 * event loop for everyone: they are refused here, before werift sees them.
 */
import { badRequest, rateLimited } from "../errors.js";

/** Largest SDP a peer may send, bytes. */
export const MAX_SDP_BYTES = 64 * 1024;
/** Most m-sections in one description: a device's camera, screen, audio, talk-back and data channel fit many times over. */
export const MAX_MEDIA_SECTIONS = 16;
/** Most candidates one description (or ICE fragment) may carry. */
export const MAX_SDP_CANDIDATES = 64;

/** ICE credentials as RFC 8839 writes them: ice-chars, a username fragment of 4 to 256, a password of 22 to 256. */
export const ICE_UFRAG = /^[A-Za-z0-9+/]{4,256}$/;
export const ICE_PWD = /^[A-Za-z0-9+/]{22,256}$/;

/** Throws bad_request unless every `a=ice-ufrag`/`a=ice-pwd` line of `sdp` is well-formed (werift fails on an empty one after taking it). */
export function checkIceCredentials(sdp: string, what: string): void {
  for (const m of sdp.matchAll(/^a=ice-(ufrag|pwd):(.*?)\r?$/gm)) {
    if (!(m[1] === "ufrag" ? ICE_UFRAG : ICE_PWD).test(m[2])) {
      throw badRequest(`the ${what}'s a=ice-${m[1]} is not ${m[1] === "ufrag" ? "4 to 256" : "22 to 256"} letters, digits, '+' or '/'`);
    }
  }
}

/** Throws bad_request unless `sdp` is an SDP description within the bounds; `what` names it ("offer", "answer"). */
export function checkRemoteSdp(sdp: unknown, what: string): asserts sdp is string {
  if (typeof sdp !== "string" || !/^v=0\r?\n/.test(sdp) || !/\r?\nm=(audio|video|application) /.test(sdp)) {
    throw badRequest(`the ${what} is not an SDP session description`);
  }
  if (Buffer.byteLength(sdp) > MAX_SDP_BYTES) throw badRequest(`the ${what} is larger than ${MAX_SDP_BYTES} bytes`);
  const sections = sdp.match(/^m=/gm)?.length ?? 0;
  if (sections > MAX_MEDIA_SECTIONS) throw badRequest(`the ${what} has ${sections} media sections; at most ${MAX_MEDIA_SECTIONS}`);
  const candidates = sdp.match(/^a=candidate:/gm)?.length ?? 0;
  if (candidates > MAX_SDP_CANDIDATES) throw badRequest(`the ${what} has ${candidates} candidates; at most ${MAX_SDP_CANDIDATES}`);
  // werift matches sections to transceivers by mid, and fails deep inside (after the description was taken) without one.
  const untagged = sdp
    .split(/\r?\n(?=m=)/)
    .slice(1)
    .findIndex((section) => !/^a=mid:\S/m.test(section));
  if (untagged >= 0) throw badRequest(`media section ${untagged} of the ${what} has no a=mid`);
  checkIceCredentials(sdp, what);
}

/** Settings of a CandidateBudget. */
export interface CandidateBudgetOptions {
  /** Most candidates a peer may trickle in its life. */
  total: number;
  /** Sustained candidates per second, in bursts of up to `burst`. */
  perSecond: number;
  burst: number;
  now: () => number;
}

/** The defaults: a browser trickles a few dozen candidates per ICE generation. */
const CANDIDATE_BUDGET_DEFAULTS: CandidateBudgetOptions = { total: 200, perSecond: 20, burst: 64, now: () => Date.now() };

/**
 * How many trickled candidates one peer may still add: a lifetime total and
 * a token bucket. `take()` throws bad_request past the total and
 * rate_limited past the rate; the candidate is then not added.
 */
export class CandidateBudget {
  private readonly o: CandidateBudgetOptions;
  private used = 0;
  private tokens: number;
  private last: number;

  constructor(options: Partial<CandidateBudgetOptions> = {}) {
    this.o = { ...CANDIDATE_BUDGET_DEFAULTS, ...options };
    this.tokens = this.o.burst;
    this.last = this.o.now();
  }

  /** Spends `count` candidates at once (a fragment's), or throws without spending any. */
  take(count = 1): void {
    const now = this.o.now();
    this.tokens = Math.min(this.o.burst, this.tokens + ((now - this.last) / 1000) * this.o.perSecond);
    this.last = now;
    if (this.used + count > this.o.total) throw badRequest(`too many ICE candidates: at most ${this.o.total} per connection`);
    if (count > this.tokens) throw rateLimited(`ICE candidates too fast: at most ${this.o.perSecond} a second`, (count - this.tokens) / this.o.perSecond);
    this.tokens -= count;
    this.used += count;
  }
}

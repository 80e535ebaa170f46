import type { RTCPeerConnection } from "werift";

/**
 * The retransmission timeout an SCTP association's handshake starts with,
 * seconds, doubled after each INIT or COOKIE ECHO lost, up to
 * HANDSHAKE_RTO_MAX_S. werift starts at RFC 4960's 3 s and sends a lost
 * one again after 3 s every time (its T1 timer does not back off), and
 * werift calls a connection connected only once the association is up.
 * Over a link that reorders, the first INIT is lost half the time with no
 * loss at all (it leaves the moment the server's DTLS is up, most likely
 * arriving before the browser's is): over 40 ± 30 ms each way, 7 of 12 Chromium
 * joins had their input channel 3.1–3.2 s after their connection (README).
 * A browser's SCTP (dcsctp) sends its INIT again after 1 s, then backs off.
 */
export const HANDSHAKE_RTO_S = 1;
/** werift's own initial timeout: with the doubling, a handshake still gives up after about as long as werift's (8 resends). */
export const HANDSHAKE_RTO_MAX_S = 3;

interface SctpProto {
  init(): Promise<void>;
}
interface SctpState {
  rto: number;
  srtt?: number;
  /** T1's expiry (an own property of each association, read again each time the timer is set). */
  timer1Expired?: () => void;
}
const APPLIED = Symbol("tessera.sctpHandshake");

/**
 * Makes every SCTP association werift starts from now on (this process)
 * begin its handshake at HANDSHAKE_RTO_S, doubling to HANDSHAKE_RTO_MAX_S,
 * instead of 3 s throughout: it replaces `init` (which sends the INIT and
 * starts T1 with the association's `rto`) on the class of `pc`'s
 * association, reached as fixSctpReassembly reaches it. True once applied
 * (now or before); false when `pc` has no association yet.
 */
export function quickSctpHandshake(pc: RTCPeerConnection): boolean {
  const sctp = (pc.sctpTransport as { sctp?: object } | undefined)?.sctp;
  if (!sctp) return false;
  const proto = Object.getPrototypeOf(sctp) as Partial<SctpProto> & { [APPLIED]?: boolean };
  if (proto[APPLIED]) return true;
  const init = proto.init;
  if (typeof init !== "function") return false;
  proto[APPLIED] = true;
  proto.init = function (this: SctpState): Promise<void> {
    // Only before any round trip was measured: after that the association's own estimate holds.
    const expired = this.timer1Expired;
    if (this.srtt === undefined && this.rto > HANDSHAKE_RTO_S && typeof expired === "function") {
      this.rto = HANDSHAKE_RTO_S;
      this.timer1Expired = () => {
        this.rto = Math.min(this.rto * 2, HANDSHAKE_RTO_MAX_S);
        expired();
      };
    }
    return init.call(this);
  };
  return true;
}

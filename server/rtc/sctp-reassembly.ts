import type { RTCPeerConnection } from "werift";

/**
 * werift 0.25's SCTP delivers at most one message per look at a stream
 * after another message in it: once it hands one over, its reassembly loop
 * goes on expecting the next TSN, so a message whose TSN is not next (other
 * streams' chunks came between) waits for the stream's next chunk. Usually
 * that chunk comes; but a FORWARD-TSN that arrives first (the browser
 * abandoning unordered `pointer` moves lost in a blackout) prunes every
 * chunk at or below the new cumulative TSN, undelivered ones too. The
 * waiting message is lost, and its ordered stream (`input`) then waits for
 * it for good: no line the viewer sends arrives again. Measured here with
 * Chromium 156 and a 0.7 s blackout (e2e/lossy-link.test.ts).
 *
 * The fix looks at the stream again after each delivery until nothing more
 * comes. It replaces `popMessages` on werift's (unexported) inbound stream
 * class, reached through an SCTP association's `getInboundStream`; once per
 * process, for every association after.
 */
interface InboundStreamProto {
  popMessages(): Generator<unknown[]>;
}
interface SctpProto {
  getInboundStream(id: number): object;
}
const FIXED = Symbol("tessera.sctpReassembly");

/** Applies the fix through `pc`'s SCTP association, when it has one; true once applied (now or before). */
export function fixSctpReassembly(pc: RTCPeerConnection): boolean {
  const sctp = (pc.sctpTransport as { sctp?: object } | undefined)?.sctp;
  if (!sctp) return false;
  const proto = Object.getPrototypeOf(sctp) as Partial<SctpProto> & { [FIXED]?: boolean };
  if (proto[FIXED]) return true;
  const original = proto.getInboundStream;
  if (typeof original !== "function") return false;
  proto[FIXED] = true;
  proto.getInboundStream = function (this: object, id: number): object {
    const stream = original.call(this, id);
    fixStream(Object.getPrototypeOf(stream) as Partial<InboundStreamProto> & { [FIXED]?: boolean });
    return stream;
  };
  return true;
}

function fixStream(proto: Partial<InboundStreamProto> & { [FIXED]?: boolean }): void {
  if (proto[FIXED]) return;
  const pop = proto.popMessages;
  if (typeof pop !== "function") return;
  proto[FIXED] = true;
  proto.popMessages = function* (this: object): Generator<unknown[]> {
    for (;;) {
      let delivered = 0;
      for (const message of pop.call(this)) {
        delivered++;
        yield message;
      }
      if (delivered === 0) return;
    }
  };
}

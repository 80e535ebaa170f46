import type { RTCPeerConnection } from "werift";
import { badRequest, TesseraError } from "../errors.js";
import { errorText } from "./errors.js";

/** The peer closed while a description was made or applied (its owner left, or the connection failed). */
export class PeerClosedError extends TesseraError {
  constructor() {
    super("bad_request", "the connection closed while it was being negotiated", 400);
    this.name = "PeerClosedError";
  }
}

/**
 * Runs `work`, werift's description calls on `pc`, and settles with a
 * PeerClosedError if `pc` closes first. A werift description call that
 * finds its peer closed when it resumes never settles (as in the W3C API),
 * and its caller, a device's offer or a viewer's subscription, would wait
 * for ever.
 */
export function whileOpen<T>(pc: RTCPeerConnection, work: () => Promise<T>): Promise<T> {
  if (pc.signalingState === "closed") return Promise.reject(new PeerClosedError());
  return new Promise<T>((resolve, reject) => {
    let subscribed = true;
    const { unSubscribe } = pc.signalingStateChange.subscribe((state) => {
      if (state !== "closed") return;
      done();
      reject(new PeerClosedError());
    });
    // Once only: werift's unsubscribe of an event its close has completed may throw.
    const done = () => {
      if (!subscribed) return;
      subscribed = false;
      try {
        unSubscribe();
      } catch {
        // the peer's close ended the event already
      }
    };
    let running: Promise<T>;
    try {
      running = work();
    } catch (err) {
      running = Promise.reject(asError(err));
    }
    running.then(
      (value) => (done(), resolve(value)),
      (err: unknown) => (done(), reject(asError(err))),
    );
  });
}

/** A thrown value as an Error (werift sometimes rejects with strings). */
function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** What a description call threw, as the client's error: its `what` rejected, unless the peer closed meanwhile. */
export function rejected(what: string, err: unknown): Error {
  return err instanceof PeerClosedError ? err : badRequest(`${what} rejected: ${errorText(err)}`);
}

/**
 * What the e2e-only interop page (e2e/pages/interop.ts) exposes as
 * `window.interop`; shared by the page and e2e/whip.test.ts (no DOM types).
 */

/** One HTTP exchange a client library made (the page wraps fetch to record them). */
export interface Exchange {
  method: string;
  url: string;
  status: number | null;
  /** Request headers the library set. */
  headers: Record<string, string>;
  /** The request body (SDP offer or trickle fragment). */
  body: string | null;
  /** The response's Location header. */
  location: string | null;
  /** Why fetch rejected (e.g. a CORS refusal). */
  error: string | null;
}

export interface WhipState {
  ice: string;
  connection: string;
  framesEncoded: number;
  bytesSent: number;
}

export interface WhepState {
  connection: string;
  ice: string;
  videoTracks: number;
  audioTracks: number;
  /** The <video>'s currentTime, seconds. */
  currentTime: number;
  /** The server's ICE username fragment in the current remote description. */
  remoteUfrag: string | null;
}

export interface InteropApi {
  /** Publishes the fake camera (video + audio) with @eyevinn/whip-web-client to `endpoint`. */
  whipStart(endpoint: string, opts?: { noTrickleIce?: boolean }): Promise<void>;
  whipState(): Promise<WhipState>;
  /** Ends the WHIP session the library's way (destroy: DELETE, stop tracks, close). */
  whipStop(): Promise<void>;
  /** Plays `url` (a WHEP endpoint) with medooze's WHEPClient into <video id="whep">. */
  whepStart(url: string): Promise<void>;
  whepState(): WhepState;
  /** Restarts ICE the library's way (restartIce, a new offer, PATCH with the new credentials). */
  whepRestart(): Promise<void>;
  /** Ends the WHEP session the library's way (stop: close, DELETE). */
  whepStop(): Promise<void>;
  exchanges(): Exchange[];
  /** Rejections nobody awaited (the libraries' event handlers). */
  asyncErrors(): string[];
}

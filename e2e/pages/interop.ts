/**
 * E2e-only page script (bundled to dist/e2e-pages/interop.js, never part of
 * the web app): drives WHIP and WHEP client libraries Tessera did not write
 * — @eyevinn/whip-web-client and medooze's whip-whep WHEPClient — against a
 * Tessera server on another origin. The test calls `window.interop.*` with
 * page.evaluate and reads back what the clients did.
 */
import { WHIPClient } from "@eyevinn/whip-web-client";
import { WHEPClient } from "whip-whep/whep.js";
import type { Exchange, InteropApi, WhepState, WhipState } from "../interop-api.js";

const exchanges: Exchange[] = [];
const realFetch = window.fetch.bind(window);
window.fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
  const url = typeof input === "string" ? input : input instanceof URL ? input.toString() : input.url;
  const headers: Record<string, string> = {};
  new Headers(init?.headers).forEach((v, k) => (headers[k] = v));
  const entry: Exchange = {
    method: init?.method ?? "GET",
    url,
    status: null,
    headers,
    body: typeof init?.body === "string" ? init.body : null,
    location: null,
    error: null,
  };
  exchanges.push(entry);
  try {
    const res = await realFetch(input, init);
    entry.status = res.status;
    entry.location = res.headers.get("Location");
    return res;
  } catch (err) {
    entry.error = String(err);
    throw err;
  }
};

let whip: { client: WHIPClient; pc: RTCPeerConnection; stream: MediaStream } | undefined;
let whep: { client: WHEPClient; pc: RTCPeerConnection } | undefined;

/** Errors the libraries raised outside the calls the test awaits (their event handlers). */
const asyncErrors: string[] = [];
window.addEventListener("unhandledrejection", (e) => asyncErrors.push(String(e.reason)));

async function outbound(pc: RTCPeerConnection): Promise<{ framesEncoded: number; bytesSent: number }> {
  let framesEncoded = 0;
  let bytesSent = 0;
  (await pc.getStats()).forEach((s: { type: string; kind?: string; framesEncoded?: number; bytesSent?: number }) => {
    if (s.type === "outbound-rtp" && s.kind === "video") {
      framesEncoded += s.framesEncoded ?? 0;
      bytesSent += s.bytesSent ?? 0;
    }
  });
  return { framesEncoded, bytesSent };
}

const interop: InteropApi = {
  async whipStart(endpoint: string, opts: { noTrickleIce?: boolean } = {}): Promise<void> {
    if (whip) throw new Error("already publishing");
    const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 360 }, audio: true });
    let pc: RTCPeerConnection | undefined;
    const client = new WHIPClient({
      endpoint,
      // No ICE servers: the library's default names a public STUN server.
      opts: { debug: true, iceServers: [], ...opts },
      // The library's own default factory, kept only to read the connection's state and stats.
      peerConnectionFactory: (config) => (pc = new RTCPeerConnection(config)),
    });
    if (!pc) throw new Error("the WHIP client made no RTCPeerConnection");
    whip = { client, pc, stream };
    await client.ingest(stream);
  },

  // (Not getResourceUrl(): before the answer it would take the one resolver slot the library's own trickle handler waits on.)
  async whipState(): Promise<WhipState> {
    if (!whip) throw new Error("not publishing");
    return { ice: whip.client.getICEConnectionState(), connection: whip.pc.connectionState, ...(await outbound(whip.pc)) };
  },

  async whipStop(): Promise<void> {
    if (!whip) return;
    const { client } = whip;
    whip = undefined;
    await client.destroy();
  },

  async whepStart(url: string): Promise<void> {
    if (whep) throw new Error("already playing");
    const pc = new RTCPeerConnection({ iceServers: [] });
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.addTransceiver("audio", { direction: "recvonly" });
    const video = document.querySelector<HTMLVideoElement>("#whep");
    if (!video) throw new Error("no #whep video element");
    const stream = new MediaStream();
    video.srcObject = stream;
    pc.ontrack = (e) => stream.addTrack(e.track);
    const client = new WHEPClient();
    whep = { client, pc };
    await client.view(pc, url);
  },

  whepState(): WhepState {
    if (!whep) throw new Error("not playing");
    const video = document.querySelector<HTMLVideoElement>("#whep");
    const stream = video?.srcObject as MediaStream | null;
    return {
      currentTime: video?.currentTime ?? 0,
      connection: whep.pc.connectionState,
      ice: whep.pc.iceConnectionState,
      remoteUfrag: /a=ice-ufrag:(\S+)/.exec(whep.pc.currentRemoteDescription?.sdp ?? "")?.[1] ?? null,
      videoTracks: stream?.getVideoTracks().length ?? 0,
      audioTracks: stream?.getAudioTracks().length ?? 0,
    };
  },

  async whepRestart(): Promise<void> {
    if (!whep) throw new Error("not playing");
    await whep.client.restart();
  },

  async whepStop(): Promise<void> {
    if (!whep) return;
    const { client } = whep;
    whep = undefined;
    await client.stop();
  },

  exchanges(): Exchange[] {
    return exchanges.map((e) => ({ ...e, headers: { ...e.headers } }));
  },

  asyncErrors(): string[] {
    return [...asyncErrors];
  },
};

(window as unknown as { interop: InteropApi }).interop = interop;

/**
 * Janus (Debian's `janus`, C) as a fan-out bench's server, beside Tessera:
 * its streaming plugin with one RTP mountpoint fed the bench's stream as
 * plain RTP over UDP, and headers-only werift viewers that watch it over
 * Janus's HTTP API. Janus never gathers loopback candidates, so it runs in
 * the bench's network namespace with ICE on one end of the veth pair.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createSocket } from "node:dgram";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RTCPeerConnection } from "werift";
import { freePort } from "../e2e/lib/ports.js";
import { ReceivedStream, receiveMedia } from "../e2e/lib/received-stream.js";
import { viewerPeerConfig } from "../e2e/lib/werift-peers.js";
import { TEST_SOURCE_ELEMENTS, testSourceDescription, type TestSourceOptions } from "../pipelines/descriptions.js";
import { GstPipeline } from "../pipelines/pipeline.js";
import type { FanoutServer, FanoutViewer } from "./fanout-steps.js";

const JANUS = "/usr/bin/janus";
const LIBS = "/usr/lib/x86_64-linux-gnu/janus";
const MOUNTPOINT = 1;
const VIDEO_PT = 96;
const AUDIO_PT = 111;

/** Why Janus cannot run here, with the command that fixes it, or undefined. */
export function janusMissing(): string | undefined {
  return existsSync(JANUS) ? undefined : "Janus is not installed: apt-get install --no-install-recommends janus";
}

/** Where Janus and its peers live. */
export interface JanusTargetOptions {
  source: Partial<TestSourceOptions>;
  /** Janus's ICE interface (one end of the veth pair) and the address it listens on. */
  interfaceName: string;
  host: string;
  /** The viewers' ICE address (the other end). */
  peerHost: string;
  /** Runs Janus under this prefix (e.g. `taskset -c 0`); it must exec, so the pid stays Janus's. */
  wrap?: readonly string[];
}

/** The three configuration files Janus reads: core (HTTP transport and the streaming plugin only), the mountpoint, the HTTP port. */
function writeConfig(dir: string, opts: JanusTargetOptions, ports: { http: number; video: number; audio: number }): void {
  const plugins = ["audiobridge", "duktape", "echotest", "lua", "nosip", "recordplay", "sip", "textroom", "videocall", "videoroom", "voicemail"];
  const transports = ["mqtt", "nanomsg", "pfunix", "rabbitmq", "websockets"];
  writeFileSync(
    join(dir, "janus.jcfg"),
    `general: {
  configs_folder = "${dir}"
  plugins_folder = "${LIBS}/plugins"
  transports_folder = "${LIBS}/transports"
  events_folder = "${LIBS}/events"
  loggers_folder = "${LIBS}/loggers"
  debug_level = 3
  session_timeout = 0
}
media: {
  rtp_port_range = "20000-40000"
}
nat: {
  ice_enforce_list = "${opts.interfaceName}"
  ignore_mdns = true
}
plugins: {
  disable = "${plugins.map((p) => `libjanus_${p}.so`).join(",")}"
}
transports: {
  disable = "${transports.map((t) => `libjanus_${t}.so`).join(",")}"
}
events: {
  broadcast = false
}
`,
  );
  writeFileSync(
    join(dir, "janus.plugin.streaming.jcfg"),
    `general: {
}
bench: {
  type = "rtp"
  id = ${MOUNTPOINT}
  description = "Fan-out bench"
  audio = true
  video = true
  audioport = ${ports.audio}
  audiopt = ${AUDIO_PT}
  audiocodec = "opus"
  videoport = ${ports.video}
  videopt = ${VIDEO_PT}
  videocodec = "vp8"
}
`,
  );
  writeFileSync(
    join(dir, "janus.transport.http.jcfg"),
    `general: {
  json = "plain"
  base_path = "/janus"
  http = true
  port = ${ports.http}
  ip = "${opts.host}"
  https = false
}
admin: {
  admin_http = false
}
`,
  );
}

/** What Janus's HTTP API answers (the parts read here). */
interface JanusReply {
  janus: string;
  data?: { id: number };
  error?: { reason?: string };
  jsep?: { type: string; sdp: string };
}

/** One call of Janus's HTTP API; Janus's own errors are thrown with its reason. */
async function call(url: string, body: Record<string, unknown>): Promise<JanusReply> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ ...body, transaction: Math.random().toString(36).slice(2) }),
    signal: AbortSignal.timeout(10_000),
  });
  const reply = (await res.json()) as JanusReply;
  if (reply.janus === "error") throw new Error(`Janus ${String(body.janus)}: ${reply.error?.reason ?? JSON.stringify(reply)}`);
  return reply;
}

/** A werift viewer of the mountpoint: its own Janus session and handle. */
async function watch(api: string, peerHost: string): Promise<FanoutViewer> {
  const session = (await call(api, { janus: "create" })).data!.id;
  const sessionUrl = `${api}/${session}`;
  const handle = (await call(sessionUrl, { janus: "attach", plugin: "janus.plugin.streaming" })).data!.id;
  const handleUrl = `${sessionUrl}/${handle}`;
  await call(handleUrl, { janus: "message", body: { request: "watch", id: MOUNTPOINT } });
  // The offer comes as an event on the session's long poll.
  let offer: string | undefined;
  for (const deadline = Date.now() + 10_000; !offer;) {
    if (Date.now() > deadline) throw new Error("Janus sent no offer within 10 s");
    const res = await fetch(`${sessionUrl}?maxev=5&rid=${Date.now()}`, { signal: AbortSignal.timeout(12_000) });
    const events = [(await res.json()) as JanusReply | JanusReply[]].flat();
    offer = events.find((e) => e.jsep?.type === "offer")?.jsep?.sdp;
  }
  const pc = new RTCPeerConnection(viewerPeerConfig(peerHost));
  const stream = new ReceivedStream(pc, false);
  receiveMedia(pc, stream, true);
  await pc.setRemoteDescription({ type: "offer", sdp: offer });
  await pc.setLocalDescription(await pc.createAnswer());
  await call(handleUrl, { janus: "message", body: { request: "start" }, jsep: { type: "answer", sdp: pc.localDescription!.sdp } });
  return {
    stream,
    async close() {
      await call(sessionUrl, { janus: "destroy" }).catch(() => undefined);
      await pc.close();
    },
  };
}

/** Starts Janus with the mountpoint, and the publisher sending it the bench's stream; resolves once Janus answers on HTTP. */
export async function startJanus(opts: JanusTargetOptions): Promise<FanoutServer> {
  const dir = mkdtempSync(join(tmpdir(), "tessera-janus-"));
  const ports = { http: await freePort(), video: await freePort(), audio: await freePort() };
  writeConfig(dir, opts, ports);
  const [program, ...args] = [...(opts.wrap ?? []), JANUS, "-F", dir, "-C", join(dir, "janus.jcfg")];
  const child: ChildProcess = spawn(program, args, { stdio: ["ignore", "pipe", "pipe"] });
  let exited = false;
  let output = "";
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000));
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  child.once("exit", () => (exited = true));
  const api = `http://${opts.host}:${ports.http}/janus`;
  const stopJanus = async () => {
    if (!exited) {
      const gone = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await gone;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const deadline = Date.now() + 15_000; ; await new Promise((r) => setTimeout(r, 100))) {
      if (exited) throw new Error(`Janus exited at start:\n${output}`);
      if (Date.now() > deadline) throw new Error(`Janus did not answer on ${api} within 15 s:\n${output}`);
      const ok = await fetch(`${api}/info`, { signal: AbortSignal.timeout(1000) }).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
    }
  } catch (err) {
    await stopJanus();
    throw err;
  }

  // The publisher: the same test source as Tessera's device, its RTP sent to the mountpoint's ports.
  const pipeline = new GstPipeline(testSourceDescription({ ...opts.source, codec: "vp8", videoPayloadType: VIDEO_PT, audioPayloadType: AUDIO_PT }));
  const udp = createSocket("udp4");
  const counts = { packets: 0, video: 0 };
  pipeline.start();
  pipeline.pullFrom(TEST_SOURCE_ELEMENTS.videoSink, (buf) => {
    counts.packets++;
    counts.video++;
    udp.send(buf, ports.video, opts.host);
  });
  pipeline.pullFrom(TEST_SOURCE_ELEMENTS.audioSink, (buf) => {
    counts.packets++;
    udp.send(buf, ports.audio, opts.host);
  });
  return {
    label: "Janus",
    pid: child.pid!,
    running: () => !exited,
    published: () => ({ ...counts, keyframeRequests: 0 }),
    connectViewer: () => watch(api, opts.peerHost),
    async close() {
      pipeline.close();
      udp.close();
      await stopJanus();
    },
  };
}

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { NO_COLLECTORS, registerCollectedGauges, type MetricsCollectors } from "./gauges.js";
import { PacketHistogram } from "./packet-histogram.js";
import type { AuthFailureReason, InputDropReason, PauseReason, ViewerTransport } from "./names.js";
import { SystemSampler } from "./system.js";

export type { MetricsCollectors } from "./gauges.js";

export { METRIC_NAMES, METRIC_TYPES, type MetricName, type MetricType } from "./names.js";
export type { AuthFailureReason, InputDropReason, PauseReason, ViewerTransport } from "./names.js";

/**
 * prom-client defaults that are gauges named `_total`, which Prometheus's
 * naming rules (and `promtool check metrics`) reserve for counters. Each is
 * the sum of its by-type gauge (`tessera_nodejs_active_handles{type}` …),
 * so nothing is lost by dropping them.
 */
const MISNAMED_DEFAULTS = ["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"];

/**
 * Buckets for forward latency inside the relay, seconds (50 µs … 100 ms).
 * Fine around 1 ms, where a fan-out to a hundred or more viewers ends: a
 * quantile is interpolated within its bucket, and with nothing between 1
 * and 2 ms a p99 of 1.05 ms could read as 1.8.
 */
const FORWARD_BUCKETS = [0.00005, 0.0001, 0.0002, 0.0003, 0.0005, 0.00075, 0.001, 0.00125, 0.0015, 0.002, 0.003, 0.005, 0.01, 0.02, 0.05, 0.1];

/**
 * Every metric Tessera exports, in one place. The rest of the code calls the
 * small methods below and never touches prom-client. Labels are bounded:
 * never an account, device or peer id.
 */
export class Metrics {
  readonly registry = new Registry();
  private collectors: MetricsCollectors = NO_COLLECTORS;
  /** Host CPU, memory and GPU figures; sampling starts with startSystemSampling(). */
  private readonly system: SystemSampler;
  private readonly viewers: Gauge<"transport">;
  private readonly rtpPackets: Counter<"direction" | "kind">;
  private readonly rtpBytes: Counter<"direction" | "kind">;
  private readonly forwardLatency: PacketHistogram;
  private readonly keyframeRequests: Counter<"direction" | "type">;
  private readonly retransmissions: Counter;
  private readonly heldBack: Counter;
  private readonly packetsLostTotal: Counter<"reporter">;
  private readonly fallbackFrames: Counter<"codec">;
  private readonly fallbackStripes: Counter<"codec">;
  private readonly fallbackBytes: Counter<"codec">;
  private readonly paintOvers: Counter;
  private readonly backpressurePauses: Counter<"reason">;
  private readonly fallbackTiers: Counter<"direction">;
  private readonly authFailures: Counter<"reason">;
  private readonly fallbackLatencyHist: Histogram;
  private readonly framesPushed: Counter<"result">;
  private readonly snapshotsCreated: Counter;
  private readonly nacks: Counter;
  private readonly nacksSent: Counter;
  private readonly weriftPath: Counter<"kind">;
  private readonly fanoutPath: Counter<"kind">;
  /** Packets sent through a lane since the counter was last read, by kind (per packet: plain numbers, as `unread`). */
  private readonly unreadFanout = { video: 0, audio: 0 };
  private readonly layerSwitches: Counter<"direction">;
  private readonly probes: Counter<"outcome">;
  private readonly signalingErrors: Counter<"code">;
  private readonly unhandledRejections: Counter;
  private readonly redisErrors: Counter;
  private readonly clusterInputLines: Counter;
  private readonly signalingMessages: Counter<"type">;
  private readonly inputLines: Counter<"result" | "reason">;
  private readonly controlChanges: Counter;
  private readonly deviceMessages: Counter<"result">;
  private readonly limitRefusals: Counter<"limit" | "scope">;
  private readonly socketsTimedOut: Counter;
  private readonly pipelineRestarts: Counter<"kind">;
  /** Labelled children bound once, that the per-packet counts are added to when the counters are read. */
  private readonly perKind: Record<
    "video" | "audio",
    { inPackets: Counter.Internal; inBytes: Counter.Internal; outPackets: Counter.Internal; outBytes: Counter.Internal }
  >;
  /**
   * packetIn/packetOut run per packet and per viewer: they add to plain
   * numbers here (in packets, in bytes, out packets, out bytes), which go
   * into the counters when a scrape reads them (a prom-client inc per
   * packet cost the relay about 4 % of its CPU).
   */
  private readonly unread = { video: new Float64Array(4), audio: new Float64Array(4) };

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const r = this.registry;
    if (options.defaultMetrics !== false) {
      collectDefaultMetrics({ register: r, prefix: "tessera_" });
      for (const name of MISNAMED_DEFAULTS) r.removeSingleMetric(`tessera_${name}`);
    }
    this.system = new SystemSampler(r);
    registerCollectedGauges(r, () => this.collectors);
    this.viewers = new Gauge({ name: "tessera_viewers", help: "Connected viewer subscriptions", labelNames: ["transport"], registers: [r] });
    this.rtpPackets = new Counter({
      name: "tessera_rtp_packets_total",
      help: "RTP packets by direction (in from devices, out to viewers) and kind",
      labelNames: ["direction", "kind"],
      registers: [r],
      collect: () => this.addUnreadPackets(),
    });
    this.rtpBytes = new Counter({
      name: "tessera_rtp_payload_bytes_total",
      help: "RTP payload bytes by direction and kind",
      labelNames: ["direction", "kind"],
      registers: [r],
      collect: () => this.addUnreadPackets(),
    });
    this.weriftPath = new Counter({
      name: "tessera_rtp_werift_path_packets_total",
      help: "RTP packets to viewers sent through werift's sendRtp instead of the fast path (only while a viewer's DTLS is not up yet)",
      labelNames: ["kind"],
      registers: [r],
    });
    this.fanoutPath = new Counter({
      name: "tessera_rtp_fanout_packets_total",
      help: "RTP packets to viewers sent by the native fan-out (one call per packet for a track's steady viewers); the rest of the fast path's take one call per viewer",
      labelNames: ["kind"],
      registers: [r],
      collect: () => {
        for (const kind of ["video", "audio"] as const) {
          if (this.unreadFanout[kind] > 0) this.fanoutPath.inc({ kind }, this.unreadFanout[kind]);
          this.unreadFanout[kind] = 0;
        }
      },
    });
    this.layerSwitches = new Counter({
      name: "tessera_layer_switches_total",
      help: "Simulcast layer switches of viewers' video, by direction",
      labelNames: ["direction"],
      registers: [r],
    });
    this.probes = new Counter({
      name: "tessera_bandwidth_probes_total",
      help: "Probes of a viewer's link with padding before a climb to a higher layer, by outcome (room: it climbed; congested: it stayed)",
      labelNames: ["outcome"],
      registers: [r],
    });
    this.forwardLatency = new PacketHistogram(
      "tessera_forward_latency_seconds",
      "Time from a packet entering the relay to its write towards a viewer",
      FORWARD_BUCKETS,
      [r],
    );
    this.keyframeRequests = new Counter({
      name: "tessera_keyframe_requests_total",
      help: "Keyframe requests (PLI or FIR): received from viewers, sent to devices",
      labelNames: ["direction", "type"],
      registers: [r],
    });
    this.retransmissions = new Counter({
      name: "tessera_retransmissions_sent_total",
      help: "Packets resent to viewers from the send cache in answer to NACKs (a resend that goes twice on a link losing packets at random counts twice)",
      registers: [r],
    });
    this.heldBack = new Counter({
      name: "tessera_retransmissions_held_back_total",
      help: "Packets viewers NACKed that were not resent: their resends had taken what their link is known to carry",
      registers: [r],
    });
    this.packetsLostTotal = new Counter({
      name: "tessera_rtp_packets_lost_total",
      help: "RTP packets lost: towards viewers (their receiver reports) or from devices (seen by the server)",
      labelNames: ["reporter"],
      registers: [r],
    });
    this.fallbackFrames = new Counter({
      name: "tessera_fallback_frames_total",
      help: "Frames sent to WebSocket fallback viewers, by codec",
      labelNames: ["codec"],
      registers: [r],
    });
    this.fallbackStripes = new Counter({
      name: "tessera_fallback_stripes_total",
      help: "Stripes sent to WebSocket fallback viewers, by codec",
      labelNames: ["codec"],
      registers: [r],
    });
    this.fallbackBytes = new Counter({
      name: "tessera_fallback_bytes_total",
      help: "Bytes of stripe messages sent to fallback viewers, by codec",
      labelNames: ["codec"],
      registers: [r],
    });
    this.paintOvers = new Counter({ name: "tessera_fallback_paint_overs_total", help: "Static JPEG stripes re-sent at high quality", registers: [r] });
    this.fallbackTiers = new Counter({
      name: "tessera_fallback_tier_switches_total",
      help: "Fallback viewers moved to a lower or higher quality tier by their pacer",
      labelNames: ["direction"],
      registers: [r],
    });
    this.backpressurePauses = new Counter({
      name: "tessera_fallback_backpressure_pauses_total",
      help: "Times a fallback viewer was paused because it fell behind, by reason",
      labelNames: ["reason"],
      registers: [r],
    });
    this.fallbackLatencyHist = new Histogram({
      name: "tessera_fallback_frame_latency_seconds",
      help: "From a frame's last packet entering the server to its stripes written to a fallback viewer's socket",
      buckets: [0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1],
      registers: [r],
    });
    this.framesPushed = new Counter({
      name: "tessera_frames_pushed_total",
      help: "JPEG frames pushed by frame devices: stored, or refused (not_jpeg, truncated, too_large, busy, limit)",
      labelNames: ["result"],
      registers: [r],
    });
    this.redisErrors = new Counter({
      name: "tessera_cluster_redis_errors_total",
      help: "Failed Redis connections and commands (with --redis)",
      registers: [r],
    });
    this.clusterInputLines = new Counter({
      name: "tessera_cluster_input_lines_total",
      help: "Input lines sent over relay legs to the node holding the device (with --redis)",
      registers: [r],
    });
    this.snapshotsCreated = new Counter({ name: "tessera_snapshots_created_total", help: "Signed snapshot URLs created", registers: [r] });
    this.authFailures = new Counter({ name: "tessera_auth_failures_total", help: "Refused credentials, by reason", labelNames: ["reason"], registers: [r] });
    this.inputLines = new Counter({
      name: "tessera_input_lines_total",
      help: "Input lines from viewers: forwarded to the device, or dropped by reason",
      labelNames: ["result", "reason"],
      registers: [r],
    });
    this.controlChanges = new Counter({ name: "tessera_control_changes_total", help: "Times control of a device changed hands", registers: [r] });
    this.deviceMessages = new Counter({
      name: "tessera_device_messages_total",
      help: "Device to viewer messages: forwarded, or dropped by reason",
      labelNames: ["result"],
      registers: [r],
    });
    const bind = (kind: "video" | "audio") => ({
      inPackets: this.rtpPackets.labels({ direction: "in", kind }),
      inBytes: this.rtpBytes.labels({ direction: "in", kind }),
      outPackets: this.rtpPackets.labels({ direction: "out", kind }),
      outBytes: this.rtpBytes.labels({ direction: "out", kind }),
    });
    this.perKind = { video: bind("video"), audio: bind("audio") };
    for (const transport of ["webrtc", "ws_jpeg", "ws_h264"] as const) this.viewers.set({ transport }, 0);
    this.nacks = new Counter({ name: "tessera_nacks_received_total", help: "Packets NACKed by viewers", registers: [r] });
    this.nacksSent = new Counter({ name: "tessera_nacks_sent_total", help: "Packets the server NACKed to devices (lost on their way in)", registers: [r] });
    this.unhandledRejections = new Counter({
      name: "tessera_unhandled_rejections_total",
      help: "Promises rejected with nobody to handle them (logged; the server carries on)",
      registers: [r],
    });
    this.signalingErrors = new Counter({
      name: "tessera_signaling_errors_total",
      help: "Signaling errors sent to clients, by code",
      labelNames: ["code"],
      registers: [r],
    });
    this.pipelineRestarts = new Counter({
      name: "tessera_pipeline_restarts_total",
      help: "Failed GStreamer pipelines made again (with backoff), by kind",
      labelNames: ["kind"],
      registers: [r],
    });
    this.socketsTimedOut = new Counter({
      name: "tessera_sockets_timed_out_total",
      help: "WebSockets closed because they answered no ping within --socket-timeout, or left over 4 MiB of signaling unread",
      registers: [r],
    });
    this.limitRefusals = new Counter({
      name: "tessera_limit_refusals_total",
      help: "Requests refused by a limit (--limit, --account-limit), by limit and scope (account or node)",
      labelNames: ["limit", "scope"],
      registers: [r],
    });
    this.signalingMessages = new Counter({
      name: "tessera_signaling_messages_total",
      help: "Valid signaling messages received, by type",
      labelNames: ["type"],
      registers: [r],
    });
  }

  /** The functions scrape-time gauges read; the app hands them over once it has what they count. */
  collectFrom(collectors: Partial<MetricsCollectors>): void {
    this.collectors = { ...this.collectors, ...collectors };
  }
  viewerConnected(transport: ViewerTransport): void {
    this.viewers.inc({ transport });
  }
  viewerDisconnected(transport: ViewerTransport): void {
    this.viewers.dec({ transport });
  }
  packetIn(kind: "video" | "audio", bytes: number): void {
    const n = this.unread[kind];
    n[0]++;
    n[1] += bytes;
  }
  packetOut(kind: "video" | "audio", bytes: number, latencyMs: number): void {
    const n = this.unread[kind];
    n[2]++;
    n[3] += bytes;
    this.forwardLatency.observe(latencyMs / 1000);
  }
  /** Adds the packets counted since the last read to the RTP counters. */
  private addUnreadPackets(): void {
    for (const kind of ["video", "audio"] as const) {
      const n = this.unread[kind];
      const c = this.perKind[kind];
      const counters = [c.inPackets, c.inBytes, c.outPackets, c.outBytes];
      for (let i = 0; i < 4; i++) {
        if (n[i] > 0) counters[i].inc(n[i]);
        n[i] = 0;
      }
    }
  }
  sentThroughWerift(kind: "video" | "audio"): void {
    this.weriftPath.inc({ kind });
  }
  fannedOut(kind: "video" | "audio", bytes: number, count: number, baseMs: number, elapsedMs: Float64Array): void {
    const n = this.unread[kind];
    n[2] += count;
    n[3] += bytes * count;
    this.unreadFanout[kind] += count;
    this.forwardLatency.observeRising(baseMs / 1000, elapsedMs, count, 1 / 1000);
  }
  layerSwitch(direction: "up" | "down"): void {
    this.layerSwitches.inc({ direction });
  }
  bandwidthProbe(outcome: "room" | "congested"): void {
    this.probes.inc({ outcome });
  }
  keyframeRequestFromViewer(type: "pli" | "fir"): void {
    this.keyframeRequests.inc({ direction: "received", type });
  }
  keyframeRequestToDevice(by: "pli" | "encoder"): void {
    this.keyframeRequests.inc({ direction: "sent", type: by });
  }
  retransmitted(count: number): void {
    this.retransmissions.inc(count);
  }
  resendsHeldBack(count: number): void {
    this.heldBack.inc(count);
  }
  packetsLost(reporter: "viewer" | "device", count: number): void {
    this.packetsLostTotal.inc({ reporter }, count);
  }
  /** One frame's stripes went to a fallback viewer. */
  fallbackFrame(codec: "jpeg" | "h264", stripes: number, bytes: number, paintOvers: number): void {
    this.fallbackFrames.inc({ codec });
    this.fallbackStripes.inc({ codec }, stripes);
    this.fallbackBytes.inc({ codec }, bytes);
    if (paintOvers > 0) this.paintOvers.inc(paintOvers);
  }
  framePushed(result: "stored" | "not_jpeg" | "truncated" | "too_large" | "busy" | "limit"): void {
    this.framesPushed.inc({ result });
  }
  snapshotCreated(): void {
    this.snapshotsCreated.inc();
  }
  fallbackLatency(ms: number): void {
    this.fallbackLatencyHist.observe(ms / 1000);
  }
  fallbackPaused(reason: PauseReason): void {
    this.backpressurePauses.inc({ reason });
  }
  fallbackTier(direction: "up" | "down"): void {
    this.fallbackTiers.inc({ direction });
  }
  authFailure(reason: AuthFailureReason): void {
    this.authFailures.inc({ reason });
  }
  nackReceived(count: number): void {
    this.nacks.inc(count);
  }
  nackToDevice(count: number): void {
    this.nacksSent.inc(count);
  }
  inputForwarded(kind: string): void {
    this.inputLines.inc({ result: "forwarded", reason: kind });
  }
  inputDropped(reason: InputDropReason): void {
    this.inputLines.inc({ result: "dropped", reason });
  }
  controlChanged(): void {
    this.controlChanges.inc();
  }
  deviceMessage(result: "forwarded" | "too_long" | "not_json" | "bad_type"): void {
    this.deviceMessages.inc({ result });
  }
  redisError(): void {
    this.redisErrors.inc();
  }
  /** An input line of a viewer here sent over a relay leg to the device's node. */
  clusterInputLine(): void {
    this.clusterInputLines.inc();
  }
  unhandledRejection(): void {
    this.unhandledRejections.inc();
  }
  /** `code` is one of the protocol's error codes, so the label stays bounded. */
  signalingError(code: string): void {
    this.signalingErrors.inc({ code });
  }
  pipelineRestarted(kind: "decode" | "transcode"): void {
    this.pipelineRestarts.inc({ kind });
  }
  socketTimedOut(): void {
    this.socketsTimedOut.inc();
  }
  /** `limit` is one of the limit names, so the label stays bounded. */
  limitRefused(limit: string, scope: "account" | "node"): void {
    this.limitRefusals.inc({ limit, scope });
  }
  /** `type` is a validated message type, so the label stays bounded. */
  signalingMessage(type: string): void {
    this.signalingMessages.inc({ type });
  }

  /** Starts reading host figures in the background; `onError` hears about failed reads. */
  startSystemSampling(onError?: (err: unknown) => void): void {
    if (onError) this.system.onError = onError;
    this.system.start();
  }

  /** Stops background sampling. */
  close(): void {
    this.system.stop();
  }

  /** The Prometheus text exposition. */
  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

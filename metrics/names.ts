/**
 * The names Tessera's metrics go by, and the values their bounded labels
 * take: what dashboards, alerts and the rest of the code may rely on.
 * metrics.ts (the Metrics class) exports them again.
 */

/** Prometheus metric types, as `# TYPE` lines name them. */
export type MetricType = "counter" | "gauge" | "histogram";

/**
 * Every metric name Tessera exposes that dashboards and alerts may use, with
 * its type: Tessera's own, and the prom-client defaults they rely on.
 * `docs/grafana-dashboard.json` may reference only these (metrics/dashboard.test.ts
 * checks it), so a rename here fails a test instead of blanking a panel.
 */
export const METRIC_TYPES = {
  tessera_devices_online: "gauge",
  tessera_viewers: "gauge",
  tessera_rtp_packets_total: "counter",
  tessera_rtp_payload_bytes_total: "counter",
  tessera_forward_latency_seconds: "histogram",
  tessera_keyframe_requests_total: "counter",
  tessera_nacks_received_total: "counter",
  tessera_nacks_sent_total: "counter",
  tessera_rtp_werift_path_packets_total: "counter",
  tessera_rtp_fanout_packets_total: "counter",
  tessera_layer_switches_total: "counter",
  tessera_bandwidth_probes_total: "counter",
  tessera_retransmissions_sent_total: "counter",
  tessera_retransmissions_held_back_total: "counter",
  tessera_rtp_packets_lost_total: "counter",
  tessera_fallback_frames_total: "counter",
  tessera_fallback_stripes_total: "counter",
  tessera_fallback_bytes_total: "counter",
  tessera_fallback_paint_overs_total: "counter",
  tessera_fallback_frame_latency_seconds: "histogram",
  tessera_fallback_backpressure_pauses_total: "counter",
  tessera_fallback_tier_switches_total: "counter",
  tessera_pipelines_active: "gauge",
  tessera_pipeline_restarts_total: "counter",
  tessera_input_lines_total: "counter",
  tessera_control_changes_total: "counter",
  tessera_device_messages_total: "counter",
  tessera_auth_failures_total: "counter",
  tessera_frames_pushed_total: "counter",
  tessera_wish_sessions: "gauge",
  tessera_limit_in_use: "gauge",
  tessera_peer_connections: "gauge",
  tessera_werift_listeners: "gauge",
  tessera_limit_refusals_total: "counter",
  tessera_cluster_nodes: "gauge",
  tessera_cluster_legs_open: "gauge",
  tessera_cluster_redis_errors_total: "counter",
  tessera_cluster_input_lines_total: "counter",
  tessera_snapshots_created_total: "counter",
  tessera_signaling_errors_total: "counter",
  tessera_sockets_timed_out_total: "counter",
  tessera_signaling_messages_total: "counter",
  tessera_unhandled_rejections_total: "counter",
  tessera_system_cpu_load_ratio: "gauge",
  tessera_system_memory_used_bytes: "gauge",
  tessera_system_memory_total_bytes: "gauge",
  tessera_system_gpu_utilization_ratio: "gauge",
  tessera_system_gpu_memory_used_bytes: "gauge",
  tessera_process_cpu_seconds_total: "counter",
  tessera_process_resident_memory_bytes: "gauge",
  tessera_nodejs_eventloop_lag_p99_seconds: "gauge",
} as const satisfies Record<string, MetricType>;

/** A metric name from METRIC_TYPES. */
export type MetricName = keyof typeof METRIC_TYPES;

/** The names in METRIC_TYPES (histograms by base name, counters with `_total`). */
export const METRIC_NAMES: readonly MetricName[] = Object.freeze(Object.keys(METRIC_TYPES) as MetricName[]);

/** How a viewer receives media. */
export type ViewerTransport = "webrtc" | "ws_jpeg" | "ws_h264";

/** Why credentials were refused (tessera_auth_failures_total{reason}). */
export type AuthFailureReason =
  | "bad_password"
  | "unknown_user"
  | "rate_limited"
  | "no_token"
  | "bad_token"
  | "expired_token"
  | "revoked_token"
  | "disabled_user"
  | "bad_origin"
  | "bad_host"
  | "key_unknown"
  | "key_revoked"
  | "key_busy"
  | "key_wrong_device"
  | "key_not_publishing"
  | "bad_metrics_token"
  | "no_metrics_token"
  | "snapshot_expired"
  | "snapshot_bad_signature";

/** Why an input line did not reach its device (tessera_input_lines_total{result="dropped"}). */
export type InputDropReason =
  | "rate_limited"
  | "not_controller"
  | "device_unavailable"
  | "too_long"
  | "unknown_command"
  | "field_count"
  | "not_a_number"
  | "out_of_range"
  | "bad_base64"
  | "bad_phase"
  | "stale"
  | "wrong_lane";

/** Why a fallback viewer was paused (tessera_fallback_backpressure_pauses_total{reason}). */
export type PauseReason = "backlog" | "silence" | "limit";

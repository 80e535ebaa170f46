import type { Metrics } from "../../metrics/metrics.js";
import type { DeviceRegistry } from "../devices/registry.js";
import type { Logger } from "../log.js";
import type { RtcConfiguration } from "../../turn/ice-config.js";
import type { RtcSettings } from "../rtc/peer-config.js";
import type { Transcoders } from "../sources/transcoder.js";
import type { Limits } from "../limits.js";

/** What every session needs from the app; built once by createApp. */
export interface SessionContext {
  readonly registry: DeviceRegistry;
  readonly metrics: Metrics;
  readonly log: Logger;
  /** ICE settings of the server's own peers. */
  readonly rtc: RtcSettings;
  /** ICE servers (with fresh credentials) handed to an account's clients in `welcome` and by /api/rtc-config. */
  rtcConfigurationFor: (account: string) => Promise<RtcConfiguration>;
  /** How long a device waits for all its negotiated tracks before going online with what it has, ms. */
  readonly trackSettleMs: number;
  /** Input lines per second per viewer (sustained); bursts of half that pass. */
  readonly inputRate: number;
  /** VP8 for viewers that cannot decode a device's codec (`--transcode on`). */
  readonly transcoders?: Transcoders;
  /** What this node and each account may use (`--limit`, `--account-limit`). */
  readonly limits: Limits;
}

/** The sending side of a signaling connection, as sessions see it. */
export interface Peer {
  readonly peerId: string;
  readonly account: string;
  /** The name a viewer gave itself (`hello` or `name`), if any. */
  name?: string;
  /** True for a relay leg of another node of the cluster: it may act on behalf of that node's viewers. */
  readonly relayLeg?: boolean;
  send(message: import("../protocol/messages.js").ServerMessage): void;
}

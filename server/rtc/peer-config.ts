import { networkInterfaces } from "node:os";
import {
  RTCRtpCodecParameters,
  RTCRtpHeaderExtensionParameters,
  useAbsSendTime,
  useSdesMid,
  useSdesRTPStreamId,
  type PeerConfig,
  type RTCIceServer,
} from "werift";
import type { TrackCodec } from "../relay/up-track.js";
import { PLAYOUT_DELAY_URI } from "./playout-delay.js";
import { fixRtcpCompound } from "./rtcp-compound.js";

/** The ICE settings every server-side peer uses. */
export interface RtcSettings {
  /** The only host addresses peers gather; empty means every interface. */
  iceHosts: readonly string[];
  /** ICE servers the server's own peers use (never a public default); read per peer, so credentials stay fresh. */
  readonly iceServers: readonly RTCIceServer[];
  /** UDP port range for ICE, inclusive. */
  readonly portRange?: readonly [number, number];
  /** Address written into the server's host candidates instead of the real one (1:1 NAT). */
  readonly publicIp?: string;
  /** "auto" (the default): video to viewers carries playout-delay (zero on a clean link, playout-delay.ts); "browser": it is not offered. */
  readonly playoutDelay?: "auto" | "browser";
}

const VIDEO_FEEDBACK = [{ type: "nack" }, { type: "nack", parameter: "pli" }, { type: "ccm", parameter: "fir" }, { type: "goog-remb" }];

/**
 * Codecs a device may publish. `videoOrder` (codec names, lower case, as the
 * device listed them in its offer) puts the device's own preference first,
 * since the answer's order decides what the device sends.
 */
export function publishCodecs(videoOrder: readonly string[] = []): { video: RTCRtpCodecParameters[]; audio: RTCRtpCodecParameters[] } {
  const rank = (c: RTCRtpCodecParameters) => {
    const i = videoOrder.indexOf(c.mimeType.split("/")[1].toLowerCase());
    return i < 0 ? Number.MAX_SAFE_INTEGER : i;
  };
  return {
    video: [
      new RTCRtpCodecParameters({
        mimeType: "video/H264",
        clockRate: 90000,
        rtcpFeedback: VIDEO_FEEDBACK,
        parameters: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
      }),
      new RTCRtpCodecParameters({ mimeType: "video/VP8", clockRate: 90000, rtcpFeedback: VIDEO_FEEDBACK }),
      // Profile 0 (8-bit 4:2:0), the one every browser sends and decodes.
      new RTCRtpCodecParameters({ mimeType: "video/VP9", clockRate: 90000, rtcpFeedback: VIDEO_FEEDBACK, parameters: "profile-id=0" }),
    ].sort((a, b) => rank(a) - rank(b)),
    audio: [
      new RTCRtpCodecParameters({
        mimeType: "audio/opus",
        clockRate: 48000,
        channels: 2,
        parameters: "minptime=10;useinbandfec=1",
      }),
    ],
  };
}

/** werift's spelling of the video codecs' MIME types. */
const VIDEO_MIME: Readonly<Record<string, string>> = { "video/h264": "video/H264", "video/vp8": "video/VP8", "video/vp9": "video/VP9" };

/** The werift codec a viewer is offered for a device track. */
export function subscribeCodec(codec: TrackCodec): RTCRtpCodecParameters {
  const mime = VIDEO_MIME[codec.mimeType] ?? codec.mimeType;
  return new RTCRtpCodecParameters({
    mimeType: mime,
    clockRate: codec.clockRate,
    channels: codec.channels,
    parameters: codec.parameters,
    rtcpFeedback: codec.kind === "video" ? VIDEO_FEEDBACK : [],
  });
}

/**
 * The RTX codec (RFC 4588) a viewer is offered right after each video
 * codec: werift gives it the next payload type and `apt=` the one before.
 * Resends then go on an SSRC of their own (fast-sender.ts), so the loss the
 * viewer's receiver reports count is what its link dropped of the video's
 * own packets, untouched by resends arriving (loss-meter.ts).
 */
export function retransmissionCodec(): RTCRtpCodecParameters {
  return new RTCRtpCodecParameters({ mimeType: "video/rtx", clockRate: 90000 });
}

/**
 * werift queries a public STUN server whenever none is configured. A server
 * without STUN/TURN of its own names the discard port on loopback instead and
 * does not wait for the answer that never comes: nothing leaves the machine,
 * gathering stays instant. (ICE lite would avoid the query too, but Firefox
 * then fails to connect when the server is the offerer.)
 */
const NO_STUN: RTCIceServer = { urls: "stun:127.0.0.1:9" };

const isStun = (server: RTCIceServer) => (Array.isArray(server.urls) ? server.urls : [server.urls]).some((u) => /^stuns?:/i.test(u));

/**
 * werift configuration for a server peer: ICE pinned to the configured
 * hosts, no public STUN. A peer `receiving` a device's media also takes
 * rtp-stream-id: simulcast layers arrive told apart by rid; one sending
 * video offers playout-delay (unless `rtc.playoutDelay` is "browser").
 */
export function peerConfig(rtc: RtcSettings, codecs: Partial<PeerConfig["codecs"]>, receiving = false): Partial<PeerConfig> {
  // Every peer connection is made with this config: werift's RTCP reading is fixed before the first one.
  fixRtcpCompound();
  const servers = [...rtc.iceServers];
  const hasStun = servers.some(isStun);
  const config: Partial<PeerConfig> = {
    codecs,
    headerExtensions: {
      video: [
        useSdesMid(),
        useAbsSendTime(),
        ...(receiving ? [useSdesRTPStreamId()] : rtc.playoutDelay === "browser" ? [] : [new RTCRtpHeaderExtensionParameters({ uri: PLAYOUT_DELAY_URI })]),
      ],
      audio: [useSdesMid()],
    },
    iceServers: hasStun ? servers : [NO_STUN, ...servers],
    iceUseIpv6: false,
    iceUseTcp: false,
    iceTcpPassive: false,
    bundlePolicy: "max-bundle",
  };
  if (!hasStun) config.iceStunGatherTimeout = 0.001;
  if (rtc.iceHosts.length > 0) {
    config.iceAdditionalHostAddresses = [...rtc.iceHosts];
    config.iceInterfaceAddresses = { udp4: rtc.iceHosts[0] };
    const allowed = new Set(rtc.iceHosts);
    // werift still gathers every interface's host candidate; keep only ours.
    config.iceFilterCandidatePair = (pair) => allowed.has(pair.localCandidate.host) || pair.localCandidate.type === "relay";
  }
  if (rtc.portRange) config.icePortRange = [rtc.portRange[0], rtc.portRange[1]];
  return config;
}

/**
 * The host addresses the server's peers use: `--ice-host` addresses plus the
 * IPv4 addresses of each `--ice-interface`. Throws naming an interface that
 * does not exist or has no IPv4 address.
 */
export function resolveIceHosts(
  iceHosts: readonly string[],
  interfaces: readonly string[],
  nets: ReturnType<typeof networkInterfaces> = networkInterfaces(),
): string[] {
  const out = new Set(iceHosts);
  for (const name of interfaces) {
    const v4 = (nets[name] ?? []).filter((a) => a.family === "IPv4").map((a) => a.address);
    if (v4.length === 0) {
      const known = Object.keys(nets).join(", ");
      throw new Error(nets[name] ? `interface ${name} has no IPv4 address` : `no interface named ${name} (have: ${known})`);
    }
    for (const a of v4) out.add(a);
  }
  return [...out];
}

/** Lower-cases a werift codec into the relay's form. */
export function toTrackCodec(kind: "video" | "audio", c: RTCRtpCodecParameters): TrackCodec {
  return {
    kind,
    mimeType: c.mimeType.toLowerCase(),
    clockRate: c.clockRate,
    channels: c.channels,
    parameters: c.parameters,
  };
}

import {
  RTCRtpCodecParameters,
  useAbsSendTime,
  useSdesMid,
  type PeerConfig,
  type RTCIceServer,
} from "werift";
import type { TrackCodec } from "../relay/up-track.js";

/** The ICE settings every server-side peer uses. */
export interface RtcSettings {
  /** The only host addresses peers gather; empty means every interface. */
  iceHosts: readonly string[];
  /** ICE servers the server's own peers use (never a public default). */
  iceServers: readonly RTCIceServer[];
  /** UDP port range for ICE, inclusive. */
  portRange?: readonly [number, number];
}

const VIDEO_FEEDBACK = [
  { type: "nack" },
  { type: "nack", parameter: "pli" },
  { type: "ccm", parameter: "fir" },
  { type: "goog-remb" },
];

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

/** The werift codec a viewer is offered for a device track. */
export function subscribeCodec(codec: TrackCodec): RTCRtpCodecParameters {
  const mime = codec.mimeType === "video/h264" ? "video/H264" : codec.mimeType === "video/vp8" ? "video/VP8" : codec.mimeType;
  return new RTCRtpCodecParameters({
    mimeType: mime,
    clockRate: codec.clockRate,
    channels: codec.channels,
    parameters: codec.parameters,
    rtcpFeedback: codec.kind === "video" ? VIDEO_FEEDBACK : [],
  });
}

/**
 * werift queries a public STUN server whenever none is configured. A server
 * without STUN/TURN of its own names the discard port on loopback instead and
 * does not wait for the answer that never comes: nothing leaves the machine,
 * gathering stays instant. (ICE lite would avoid the query too, but Firefox
 * then fails to connect when the server is the offerer.)
 */
const NO_STUN: RTCIceServer = { urls: "stun:127.0.0.1:9" };

/** werift configuration for a server peer: ICE pinned to the configured hosts, no public STUN. */
export function peerConfig(
  rtc: RtcSettings,
  codecs: Partial<PeerConfig["codecs"]>,
): Partial<PeerConfig> {
  const config: Partial<PeerConfig> = {
    codecs,
    headerExtensions: { video: [useSdesMid(), useAbsSendTime()], audio: [useSdesMid()] },
    iceServers: rtc.iceServers.length > 0 ? [...rtc.iceServers] : [NO_STUN],
    iceUseIpv6: false,
    iceUseTcp: false,
    iceTcpPassive: false,
    bundlePolicy: "max-bundle",
  };
  if (rtc.iceServers.length === 0) config.iceStunGatherTimeout = 0.001;
  if (rtc.iceHosts.length > 0) {
    config.iceAdditionalHostAddresses = [...rtc.iceHosts];
    config.iceInterfaceAddresses = { udp4: rtc.iceHosts[0] } as PeerConfig["iceInterfaceAddresses"];
    const allowed = new Set(rtc.iceHosts);
    // werift still gathers every interface's host candidate; keep only ours.
    config.iceFilterCandidatePair = (pair) => allowed.has(pair.localCandidate.host);
  }
  if (rtc.portRange) config.icePortRange = [rtc.portRange[0], rtc.portRange[1]];
  return config;
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

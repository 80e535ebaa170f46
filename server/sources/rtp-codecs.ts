import type { RtpVideoCodec } from "../../pipelines/descriptions.js";
import type { TrackCodec } from "../relay/up-track.js";

/** The track codec of video a local pipeline packetizes (H.264 as constrained baseline, level 3.1, which every browser decodes). */
export function localVideoCodec(codec: RtpVideoCodec): TrackCodec {
  return codec === "vp8"
    ? { kind: "video", mimeType: "video/vp8", clockRate: 90000 }
    : { kind: "video", mimeType: "video/h264", clockRate: 90000, parameters: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f" };
}

/** Opus as local pipelines send it: stereo, 20 ms, in-band FEC. */
export const LOCAL_OPUS: TrackCodec = { kind: "audio", mimeType: "audio/opus", clockRate: 48000, channels: 2, parameters: "minptime=10;useinbandfec=1" };

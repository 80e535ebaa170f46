/** Real inputs the fuzzers start from: made by the parts that make them in use, never typed in. */
import { RTCPeerConnection } from "werift";
import { publishCodecs } from "../rtc/peer-config.js";

/** A device's offer as werift makes it: VP8 and H.264 video, Opus audio, the input data channel. */
export async function weriftOffer(): Promise<string> {
  const pc = new RTCPeerConnection({ codecs: publishCodecs(), iceUseIpv6: false });
  try {
    pc.addTransceiver("video", { direction: "sendonly" });
    pc.addTransceiver("audio", { direction: "sendrecv" });
    pc.createDataChannel("input");
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    return pc.localDescription?.sdp ?? offer.sdp;
  } finally {
    await pc.close();
  }
}

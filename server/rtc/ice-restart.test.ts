import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseSdpFragment } from "../whip/sdpfrag.js";
import { iceFragment, iceUfragOf, localIceParameters, unusableCandidate, withNewIceCredentials } from "./ice-restart.js";

const OFFER = [
  "v=0",
  "o=- 1 1 IN IP4 0.0.0.0",
  "s=-",
  "t=0 0",
  "a=group:BUNDLE 0 1",
  "m=video 9 UDP/TLS/RTP/SAVPF 96",
  "a=mid:0",
  "a=ice-ufrag:old1",
  "a=ice-pwd:oldpasswordoldpassword1",
  "a=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host",
  "a=end-of-candidates",
  "m=audio 9 UDP/TLS/RTP/SAVPF 111",
  "a=mid:1",
  "a=ice-ufrag:old1",
  "a=ice-pwd:oldpasswordoldpassword1",
  "",
].join("\r\n");

describe("ICE restart pieces", () => {
  test("the remote offer gets the new credentials in every section and loses its old candidates", () => {
    const sdp = withNewIceCredentials(OFFER, { ufrag: "new2", pwd: "newpasswordnewpassword2" });
    assert.equal(sdp.match(/a=ice-ufrag:new2/g)?.length, 2);
    assert.equal(sdp.match(/a=ice-pwd:newpasswordnewpassword2/g)?.length, 2);
    assert.doesNotMatch(sdp, /old1|a=candidate|end-of-candidates/);
    assert.match(sdp, /a=group:BUNDLE 0 1\r\nm=video 9 UDP\/TLS\/RTP\/SAVPF 96\r\na=mid:0\r\n/);
    assert.equal(iceUfragOf(sdp), "new2");
  });

  test("the answer fragment carries the credentials, the first section's mid and candidates, and parses back", () => {
    const p = localIceParameters(OFFER);
    assert.deepEqual(p, {
      ufrag: "old1",
      pwd: "oldpasswordoldpassword1",
      media: { mLine: "m=video 9 UDP/TLS/RTP/SAVPF 96", mid: "0" },
      candidates: ["candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host"],
    });
    const frag = parseSdpFragment(iceFragment(p));
    assert.equal(frag.ufrag, "old1");
    assert.equal(frag.pwd, "oldpasswordoldpassword1");
    assert.deepEqual(frag.candidates, [{ candidate: "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host", sdpMid: "0", sdpMLineIndex: 0 }]);
    assert.equal(frag.end, true);
    assert.throws(() => localIceParameters("v=0\r\n"), /no ICE credentials/);
  });
});

test("unusableCandidate: no ICE candidate, or a media section the session does not have; a good one passes", () => {
  const sdp = "v=0\r\ns=-\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:1\r\n";
  const good = "candidate:1 1 udp 2122260223 127.0.0.1 61764 typ host";
  assert.equal(unusableCandidate(sdp, { candidate: good, sdpMid: "1", sdpMLineIndex: 1 }), undefined);
  assert.equal(unusableCandidate(sdp, { candidate: good, sdpMid: null, sdpMLineIndex: 1 }), undefined);
  assert.equal(unusableCandidate(sdp, { candidate: "candidate:garbage", sdpMid: "0", sdpMLineIndex: 0 }), "'candidate:garbage' is no ICE candidate");
  assert.equal(unusableCandidate(sdp, { candidate: good, sdpMid: "zz", sdpMLineIndex: 0 }), "the session has no media section with mid 'zz'");
  assert.equal(unusableCandidate(sdp, { candidate: good, sdpMid: null, sdpMLineIndex: 2 }), "the session has no media section 2");
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { isMdnsCandidate, withoutMdnsCandidates } from "./mdns.js";

test("mDNS candidates are told by their address, in trickled and SDP form", () => {
  assert.equal(isMdnsCandidate("candidate:1 1 udp 2122260223 2f0e6c6a-4a8b-4b0e-9d7e-2d0b3f6b1c2a.local 54321 typ host generation 0"), true);
  assert.equal(isMdnsCandidate("a=candidate:1 1 UDP 2122260223 ABC.LOCAL 54321 typ host"), true);
  assert.equal(isMdnsCandidate("candidate:2 1 udp 1686052607 203.0.113.7 54321 typ srflx raddr 0.0.0.0 rport 0"), false);
  assert.equal(isMdnsCandidate("candidate:3 1 udp 2122260223 127.0.0.1 40000 typ host"), false);
  assert.equal(isMdnsCandidate(""), false);
});

test("an SDP keeps every line but its mDNS candidates", () => {
  const sdp = [
    "v=0",
    "m=video 9 UDP/TLS/RTP/SAVPF 96",
    "a=candidate:1 1 udp 2122260223 abc.local 54321 typ host",
    "a=candidate:2 1 udp 1686052607 203.0.113.7 54321 typ srflx raddr 0.0.0.0 rport 0",
    "a=mid:0",
    "",
  ].join("\r\n");
  assert.equal(withoutMdnsCandidates(sdp), sdp.replace("a=candidate:1 1 udp 2122260223 abc.local 54321 typ host\r\n", ""));
  const plain = "v=0\r\na=candidate:2 1 udp 1 10.0.0.1 9 typ host\r\n";
  assert.equal(withoutMdnsCandidates(plain), plain);
});

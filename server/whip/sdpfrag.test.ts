import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { TesseraError } from "../errors.js";
import { iceServerLinks, parseSdpFragment } from "./sdpfrag.js";

describe("parseSdpFragment", () => {
  test("candidates keep their m-line and mid; ufrag, pwd and end-of-candidates are read", () => {
    const frag = [
      "a=ice-ufrag:EsAw",
      "a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1",
      "m=audio 9 RTP/AVP 0",
      "a=mid:0",
      "a=candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0",
      "m=video 9 RTP/AVP 0",
      "a=mid:1",
      "a=candidate:3471623853 1 udp 2122194687 198.51.100.2 61765 typ host generation 0",
      "a=end-of-candidates",
    ].join("\r\n");
    const f = parseSdpFragment(frag);
    assert.equal(f.ufrag, "EsAw");
    assert.equal(f.pwd, "P2uYro0UCOQ4zxjKXaWCBui1");
    assert.equal(f.end, true);
    assert.deepEqual(
      f.candidates.map((c) => [c.sdpMid, c.sdpMLineIndex, c.candidate.split(" ")[4]]),
      [
        ["0", 0, "192.0.2.1"],
        ["1", 1, "198.51.100.2"],
      ],
    );
  });
});

describe("parseSdpFragment: ICE credentials", () => {
  // Found by the fuzzer: an empty a=ice-ufrag restarted ICE into a werift TypeError, a 500.
  test("a username fragment or password that is empty or not ice-chars is bad_request", () => {
    for (const frag of [
      "a=ice-ufrag:\r\na=ice-pwd:0123456789abcdefghijkl\r\n",
      " a=ice-ufrag:\r\n",
      "a=ice-ufrag:ab\r\n",
      "a=ice-ufrag:abcd\r\na=ice-pwd:short\r\n",
      "a=ice-ufrag:ab cd\r\n",
    ]) {
      assert.throws(
        () => parseSdpFragment(frag),
        (err: TesseraError) => err.code === "bad_request" && /a=ice-(ufrag|pwd)/.test(err.message),
        JSON.stringify(frag),
      );
    }
    assert.equal(parseSdpFragment("a=ice-ufrag:ab+/\r\na=ice-pwd:0123456789abcdefghij+/\r\n").ufrag, "ab+/");
  });
});

describe("iceServerLinks", () => {
  test("one Link per URL; TURN ones carry their credentials", () => {
    assert.deepEqual(iceServerLinks([{ urls: "stun:s.example.org" }, { urls: ["turn:t.example.org?transport=udp"], username: "1:a", credential: "c=" }]), [
      '<stun:s.example.org>; rel="ice-server"',
      '<turn:t.example.org?transport=udp>; rel="ice-server"; username="1:a"; credential="c="; credential-type="password"',
    ]);
  });
});

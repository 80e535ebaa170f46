import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BROWSER_DELAY, PLAYOUT_DELAY_URI, playoutDelayValue, ZERO_DELAY } from "./playout-delay.js";
import { headerTemplate } from "./rtp-header.js";

describe("playout delay", () => {
  test("the value is min and max in 10 ms units, 12 bits each", () => {
    assert.equal(ZERO_DELAY, 0);
    assert.equal(BROWSER_DELAY, 1000, "0 to 10 s");
    assert.equal(playoutDelayValue(100, 500), (10 << 12) | 50);
    assert.equal(playoutDelayValue(-5, 1e9), 0xfff, "clamped to the field");
  });

  test("the header template carries the extension's 3 bytes where it was negotiated, and says where", () => {
    const ext = [
      { id: 1, uri: "urn:ietf:params:rtp-hdrext:sdes:mid" },
      { id: 3, uri: "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time" },
      { id: 6, uri: PLAYOUT_DELAY_URI },
    ];
    const { header, absOffset, playoutOffset } = headerTemplate(96, 0x1234, ext, "0", playoutDelayValue(20, 30));
    // mid (1 + 1 bytes), abs-send-time (1 + 3), playout-delay (1 + 3): 10 bytes, padded to 12.
    assert.equal(header.length, 12 + 4 + 12);
    assert.equal(header.readUInt16BE(14), 3);
    assert.equal(header[playoutOffset - 1], (6 << 4) | 2, "id 6, 3 bytes");
    assert.equal(header.readUIntBE(playoutOffset, 3), (2 << 12) | 3);
    assert.equal(header[absOffset - 1], (3 << 4) | 2);
    assert.equal(headerTemplate(96, 1, ext.slice(0, 2), "0").playoutOffset, -1, "not negotiated: not written");
  });
});

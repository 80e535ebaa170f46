import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { resolveIceHosts } from "./peer-config.js";
import { localSdpForClients } from "./sdp.js";

const SDP = [
  "v=0",
  "m=video 9 UDP/TLS/RTP/SAVPF 96",
  "c=IN IP4 10.0.0.5",
  "a=candidate:1 1 udp 2130706431 10.0.0.5 40001 typ host",
  "a=candidate:2 1 udp 2130706431 172.17.0.2 40002 typ host",
  "a=candidate:3 1 udp 16777215 198.51.100.9 50000 typ relay raddr 10.0.0.5 rport 40001",
  "",
].join("\r\n");

describe("localSdpForClients", () => {
  test("keeps only the configured hosts' candidates (relay candidates name the relay)", () => {
    const out = localSdpForClients(SDP, { iceHosts: ["10.0.0.5", "198.51.100.9"] });
    assert.ok(out.includes("10.0.0.5 40001 typ host"));
    assert.ok(!out.includes("172.17.0.2"));
    assert.ok(out.includes("typ relay"));
  });

  test("--public-ip rewrites host candidates and the default address, not relay candidates", () => {
    const out = localSdpForClients(SDP, { iceHosts: [], publicIp: "203.0.113.7" });
    assert.ok(out.includes("c=IN IP4 203.0.113.7"));
    assert.ok(out.includes("a=candidate:1 1 udp 2130706431 203.0.113.7 40001 typ host"));
    assert.ok(out.includes("a=candidate:2 1 udp 2130706431 203.0.113.7 40002 typ host"));
    assert.ok(out.includes("198.51.100.9 50000 typ relay raddr 10.0.0.5"));
  });

  test("without options the SDP is unchanged", () => assert.equal(localSdpForClients(SDP, { iceHosts: [] }), SDP));
});

describe("resolveIceHosts", () => {
  const nets = {
    lo: [
      { address: "127.0.0.1", family: "IPv4" },
      { address: "::1", family: "IPv6" },
    ],
    eth0: [{ address: "10.0.0.5", family: "IPv4" }],
    v6only: [{ address: "fe80::1", family: "IPv6" }],
  } as unknown as Parameters<typeof resolveIceHosts>[2];

  test("adds each interface's IPv4 addresses to --ice-host, once", () => {
    assert.deepEqual(resolveIceHosts(["127.0.0.1"], ["lo", "eth0"], nets), ["127.0.0.1", "10.0.0.5"]);
  });
  test("names a missing interface and the ones that exist", () => {
    assert.throws(() => resolveIceHosts([], ["wlan0"], nets), /no interface named wlan0 \(have: lo, eth0, v6only\)/);
  });
  test("refuses an interface without IPv4", () => {
    assert.throws(() => resolveIceHosts([], ["v6only"], nets), /v6only has no IPv4 address/);
  });
});

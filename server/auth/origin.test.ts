import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { hostServedWithoutAuth, originAllowed } from "./origin.js";

describe("originAllowed", () => {
  const allowed = ["https://app.example.org"];
  const cases: Array<[origin: string | undefined, host: string | undefined, ok: boolean]> = [
    [undefined, "127.0.0.1:8080", true], // not a browser
    ["http://127.0.0.1:8080", "127.0.0.1:8080", true],
    ["https://tessera.example.org", "tessera.example.org", true],
    ["https://tessera.example.org", "tessera.example.org:443", true],
    ["http://TESSERA.example.org", "tessera.example.org", true],
    ["https://app.example.org", "tessera.example.org", true], // --allowed-origins
    ["http://127.0.0.1:8081", "127.0.0.1:8080", false], // another port is another origin
    ["http://evil.example", "127.0.0.1:8080", false],
    ["https://app.example.org.evil.example", "tessera.example.org", false],
    ["null", "127.0.0.1:8080", false],
    ["file://", "127.0.0.1:8080", false],
    ["chrome-extension://abc", "127.0.0.1:8080", false],
    ["not a url", "127.0.0.1:8080", false],
    ["http://127.0.0.1:8080", undefined, false],
    ["http://127.0.0.1:8080", "127.0.0.1:8080/x", false],
  ];
  for (const [origin, host, ok] of cases) {
    test(`Origin ${origin ?? "(none)"} on Host ${host ?? "(none)"}: ${ok ? "allowed" : "refused"}`, () => {
      assert.equal(originAllowed(origin, host, allowed), ok);
    });
  }
});

describe("hostServedWithoutAuth (--auth none: DNS rebinding)", () => {
  const names = ["stream.example.org"];
  const cases: Array<[host: string | undefined, ok: boolean]> = [
    [undefined, true], // not a browser
    ["127.0.0.1:8080", true],
    ["127.5.6.7", true],
    ["10.99.0.1:8080", true], // an address cannot be rebound
    ["[::1]:8080", true],
    ["localhost:8080", true],
    ["LOCALHOST", true],
    ["app.localhost:8080", true],
    ["stream.example.org", true],
    ["Stream.Example.Org:443", true],
    ["rebind.evil.example:8080", false],
    ["localhost.evil.example", false],
    ["stream.example.org.evil.example", false],
    ["127.0.0.1.nip.io", false],
    ["evil.example\r\nX: y", false],
    ["", true], // no Host at all is no browser either
  ];
  for (const [host, ok] of cases) {
    test(`Host ${JSON.stringify(host)}: ${ok ? "served" : "refused"}`, () => assert.equal(hostServedWithoutAuth(host, names), ok));
  }
});

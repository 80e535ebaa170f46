import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { originAllowed } from "./origin.js";

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

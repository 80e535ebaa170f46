import assert from "node:assert/strict";
import { test } from "node:test";
import type { AddressInfo } from "node:net";
import { WebSocketServer } from "ws";
import { waitFor } from "../../e2e/lib/signaling-client.js";
import { DeviceRegistry } from "../devices/registry.js";
import { createLogger } from "../log.js";
import type { SessionContext } from "../sessions/context.js";
import { RelayLeg } from "./relay-leg.js";

/**
 * A home node that welcomes the leg and then goes silent, pongs included
 * (`autoPong: false`): a path to it that drops everything without a reset.
 * With `answer`, it answers pings as any node does.
 */
async function silentHome(t: { after(fn: () => unknown): void }, answer: boolean) {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, autoPong: answer });
  await new Promise((resolve) => wss.once("listening", resolve));
  t.after(() => {
    for (const ws of wss.clients) ws.terminate();
    return new Promise((resolve) => wss.close(resolve));
  });
  const heard: string[] = [];
  const seen = { pings: 0 };
  wss.on("connection", (ws) => {
    ws.on("ping", () => seen.pings++);
    ws.on("message", (data) => {
      const m = JSON.parse((data as Buffer).toString()) as { type: string };
      heard.push(m.type);
      if (m.type === "hello") ws.send(JSON.stringify({ type: "welcome", peerId: "p", account: "a", role: "viewer", iceServers: [], iceTtl: 60 }));
    });
  });
  return { url: `http://127.0.0.1:${(wss.address() as AddressInfo).port}`, heard, seen };
}

/** A leg to `url` for one device, pinging every 100 ms; resolves how it ended. */
function legTo(t: { after(fn: () => unknown): void }, url: string) {
  const device = new DeviceRegistry(60_000).ensure("a", "cam", "Cam", "camera");
  const ended: string[] = [];
  const leg = new RelayLeg({
    // Used once the home node offers, which it never does here.
    ctx: undefined as unknown as SessionContext,
    device,
    url,
    token: "t",
    nodeId: "here",
    log: createLogger("error"),
    onClosed: (reason) => void ended.push(reason),
    pingMs: 100,
  });
  t.after(() => leg.close("test over"));
  return ended;
}

test("a relay leg whose home node stops answering (pings unanswered) ends, so that it can be opened again", async (t) => {
  const home = await silentHome(t, false);
  const ended = legTo(t, home.url);
  await waitFor(() => ended.length > 0, 5000, "the leg ended");
  assert.deepEqual(ended, ["home node stopped answering"]);
  assert.deepEqual(home.heard.slice(0, 2), ["hello", "watch"]);
});

test("a relay leg whose home node answers its pings stays open", async (t) => {
  const home = await silentHome(t, true);
  const ended = legTo(t, home.url);
  await waitFor(() => home.heard.includes("watch"), 5000, "the watch");
  await waitFor(() => home.seen.pings >= 5, 5000, "five pings answered");
  assert.deepEqual(ended, []);
});

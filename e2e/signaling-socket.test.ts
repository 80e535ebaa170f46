/**
 * The web app's signaling socket (web/src/signaling.ts) against a real
 * server: it opens while its hello is being made, says nothing before the
 * hello, lets a socket go whose hello takes too long (the server's hello
 * timer would close it) and says hello on a fresh one when ready, and takes
 * up a socket the page opened before its script loaded. Runs in
 * Node with the `ws` client as the page's WebSocket.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import type { Hello, ServerMessage } from "../server/protocol/messages.js";
import { startServer, type Running } from "../server/integration/fixture.js";
import { HELLO_WAIT_MS, SignalingClient, type SignalingState } from "../web/src/signaling.js";
import { waitFor } from "./lib/signaling-client.js";

Object.assign(globalThis, { WebSocket, window: globalThis });

/** A hello the test hands over when it chooses (or refuses). */
function heldHello(): { make: () => Promise<Hello>; give(): void; refuse(): void } {
  let give = () => undefined as void;
  let refuse = () => undefined as void;
  const made = new Promise<Hello>((resolve, reject) => {
    give = () => resolve({ type: "hello", role: "viewer", protocol: 1 });
    refuse = () => reject(new Error("no token"));
  });
  return { make: () => made, give, refuse };
}

describe("the web app's signaling socket", () => {
  let server: Running;
  /** Upgrades the server took, and how many of their sockets have closed. */
  const sockets = { opened: 0, closed: 0 };
  const clients: SignalingClient[] = [];
  before(async () => {
    server = await startServer({ source: [{ kind: "test" }] });
    server.server.on("upgrade", (_req, socket: { on(e: "close", fn: () => void): void }) => {
      sockets.opened++;
      socket.on("close", () => sockets.closed++);
    });
  });
  after(async () => {
    for (const c of clients) c.close();
    await server.stop();
  });

  function client(make: () => Promise<Hello>, headStart?: WebSocket) {
    const seen: Array<ServerMessage["type"] | "opened"> = [];
    const states: SignalingState[] = [];
    const c = new SignalingClient(
      server.wsUrl,
      make,
      {
        opened: () => seen.push("opened"),
        welcome: (m) => seen.push(m.type),
        message: (m) => seen.push(m.type),
        state: (s) => states.push(s),
      },
      headStart as unknown as globalThis.WebSocket | undefined,
    );
    clients.push(c);
    return { c, seen, states };
  }

  test("the socket opens while the hello is made; nothing goes before the hello; what goes right behind it is answered after the welcome", async () => {
    const mark = { ...sockets };
    const hello = heldHello();
    const { c, seen } = client(hello.make);
    await waitFor(() => sockets.opened > mark.opened, 5000, "the socket to open before the hello is made");
    assert.equal(c.send({ type: "watch", deviceId: "test" }), false, "nothing before the hello");
    hello.give();
    await waitFor(() => seen.includes("opened"), 5000, "the hello to go");
    assert.equal(c.send({ type: "watch", deviceId: "test" }), true);
    await waitFor(() => seen.includes("offer"), 5000, "the watch's offer");
    assert.deepEqual(seen.slice(0, 2), ["opened", "welcome"]);
    assert.equal(c.state, "open");
    assert.equal(sockets.opened, mark.opened + 1, "one socket");
  });

  test(`a hello not made within ${HELLO_WAIT_MS} ms: the socket is let go without a reconnect, and the hello gets a fresh one when ready`, async () => {
    const mark = { ...sockets };
    const hello = heldHello();
    const { c, seen, states } = client(hello.make);
    await waitFor(() => sockets.closed > mark.closed, HELLO_WAIT_MS + 5000, "the waiting socket to be let go");
    assert.deepEqual(states, ["connecting"], "still connecting, not reconnecting");
    hello.give();
    await waitFor(() => seen.includes("welcome"), 5000, "the welcome on a fresh socket");
    assert.equal(c.state, "open");
    assert.equal(sockets.opened, mark.opened + 2);
  });

  test("a head start socket is taken up whether it is still opening or already open; one closed already is not", async () => {
    for (const when of ["opening", "open", "closed"] as const) {
      const mark = { ...sockets };
      const head = new WebSocket(server.wsUrl);
      if (when !== "opening") await new Promise((resolve) => head.once("open", resolve));
      if (when === "closed") {
        head.close();
        await new Promise((resolve) => head.once("close", resolve));
      }
      const hello = heldHello();
      const { c, seen } = client(hello.make, head);
      hello.give();
      await waitFor(() => seen.includes("welcome"), 5000, `the welcome (${when})`);
      assert.equal(c.state, "open");
      assert.equal(sockets.opened, mark.opened + (when === "closed" ? 2 : 1), `${when}: sockets opened`);
      assert.equal(head.readyState === WebSocket.OPEN, when !== "closed", `${when}: the head start carries the session`);
      c.close();
    }
  });

  test("a hello that cannot be made lets the socket go and reconnects, making a new one", async () => {
    const mark = { ...sockets };
    const first = heldHello();
    const second = heldHello();
    let made = 0;
    const { c, states } = client(() => (++made === 1 ? first.make() : second.make()));
    await waitFor(() => sockets.opened > mark.opened, 5000, "the first socket");
    first.refuse();
    await waitFor(() => states.includes("reconnecting"), 5000, "a reconnect");
    second.give();
    await waitFor(() => c.state === "open", 10_000, "the welcome after the reconnect");
    assert.equal(made, 2);
  });
});

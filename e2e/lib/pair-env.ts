/**
 * A server and two Chromiums across a pair of network namespaces
 * (netns.ts): the server and the near browser in one, the far browser in
 * the other, joined by a veth pair whose server side (FAR_LINK) a token
 * bucket can hold (limitLink). For tests and benches of a thin link to one
 * viewer among others.
 */
import type { Browser, Page } from "playwright-core";
import { launchBrowser, startServer, type TestServer } from "../harness.js";
import { createNetnsPair, type Netns } from "./netns.js";

/** The veth end on the server's side of the pair: what goes to the far browser leaves through it. */
export const FAR_LINK = "va";

export interface PairEnv {
  pair: { server: Netns; client: Netns };
  server: TestServer;
  /** In the server's namespace; its pages may use the camera (the namespace's address counts as a secure origin). */
  near: Browser;
  /** In the other namespace, behind the veth pair. */
  far: Browser;
  /** Closes the browsers and the server and removes the namespaces; idempotent. */
  close(): Promise<void>;
}

/** Starts the namespaces (named after `tag`), a server without a test device, and both browsers; whatever started is cleaned up if the rest fails. */
export async function startPairEnv(tag: string): Promise<PairEnv> {
  const pair = await createNetnsPair(tag);
  let server: TestServer | undefined;
  const browsers: Browser[] = [];
  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= (async () => {
      await Promise.all(browsers.map((b) => b.close().catch(() => undefined)));
      await server?.close();
      await pair.destroy();
    })());
  try {
    const ns = pair.server;
    // A namespace only the test reaches: no sign-in off loopback is fine here. No built-in test device: its encoder would take a core.
    server = await startServer({ wrap: [...ns.exec], iceHost: ns.address, args: ["--host", ns.address, "--insecure-no-auth", "--source", "none"] });
    // The device page's camera needs a secure context: the namespace's address is not loopback.
    const origin = new URL(server.url).origin;
    const [near, far] = await Promise.all([launchBrowser(ns.exec, [`--unsafely-treat-insecure-origin-as-secure=${origin}`]), launchBrowser(pair.client.exec)]);
    browsers.push(near, far);
    return { pair, server, near, far, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** The width the device page's top layer goes out at now (its encoder may shrink it when the machine is busy). */
export const topWidth = (device: Page): Promise<number> =>
  device.evaluate<number>(`(async () => {
    let w = 0;
    (await globalThis.tessera.pc.getStats()).forEach((s) => {
      if (s.type === "outbound-rtp" && s.kind === "video" && s.frameWidth > w) w = s.frameWidth;
    });
    return w;
  })()`);

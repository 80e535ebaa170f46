/**
 * A hostile WebRTC peer against the real entry point (a child process, so
 * nothing but main.ts stands between a stray rejection and the process):
 * SCTP messages no browser sends but any custom client can, which make
 * werift's data channel code throw from an async handler.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { readMetric, startServer, type TestServer } from "../../e2e/harness.js";
import { waitFor, waitForAsync } from "../../e2e/lib/signaling-client.js";
import { WeriftViewer } from "../../e2e/lib/werift-peers.js";

/** SCTP payload protocol ids (RFC 8831): DCEP, and one nobody uses. */
const PPID_DCEP = 50;
const PPID_UNKNOWN = 77;
const DATA_CHANNEL_ACK = 0x02;

let server: TestServer | undefined;
let viewer: WeriftViewer | undefined;

before(async () => {
  server = await startServer();
});

after(async () => {
  await viewer?.close();
  await server?.close();
});

test(
  "a DCEP ACK for no channel and a message of an unknown protocol id: logged and counted, the server and the session carry on",
  { timeout: 30_000 },
  async () => {
    const srv = server!;
    viewer = await WeriftViewer.connect(`${srv.url.replace(/^http/, "ws")}ws`);
    viewer.watch("test");
    const stream = await waitFor(
      () => (viewer!.streams.get("test")?.input?.readyState === "open" ? viewer!.streams.get("test") : undefined),
      10_000,
      "the input channel",
    );
    const sctp = stream.pc.sctpTransport?.sctp;
    assert.ok(sctp, "the viewer's SCTP association");
    await sctp.send(999, PPID_DCEP, Buffer.from([DATA_CHANNEL_ACK]), { ordered: true });
    await sctp.send(stream.input!.id, PPID_UNKNOWN, Buffer.from("x"), { ordered: true });
    await waitForAsync(async () => (await readMetric(srv, "tessera_unhandled_rejections_total")) >= 2, 10_000, "both rejections counted");
    assert.ok(
      srv.logs.some((l) => /unhandled promise rejection; the server carries on/.test(l)),
      "the rejection is in the log",
    );
    const health = await fetch(`${srv.url}healthz`);
    assert.equal(health.status, 200, "the server still serves");
    const packets = stream.videoPackets;
    await waitFor(() => stream.videoPackets > packets + 30, 10_000, "video still flowing to the viewer");
  },
);

/**
 * The floor under bench:fanout's CPU per forwarded packet: what one
 * datagram costs through the relay's native route alone (the header from
 * its template, AES-128-GCM, the history slot and sendto, one N-API call
 * each), sent from a plain JavaScript loop to `--routes` UDP sockets that a
 * second process reads. No werift, no relay logic, no RTCP: what is left
 * of bench:fanout's figure above this one is what the JavaScript around
 * the route costs.
 *
 *   npm run bench:floor -- [--routes 16,100,300] [--packets 2000] [--pin] [--json]
 */
import { fork, type ChildProcess } from "node:child_process";
import dgram from "node:dgram";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { nativeFastPath, nativeFastPathStatus, RTP_SEND, udpDescriptor } from "../server/rtc/native.js";
import { PROFILE_AEAD_AES_128_GCM } from "../server/rtc/srtp-protect.js";
import { benchOptions } from "./args.js";
import { intArg, runBench } from "./run.js";
import { machineInfo, pin } from "./proc.js";

/** A video payload as bench:fanout's stream carries them. */
const PAYLOAD_BYTES = 1150;
/** Whole slots of the route's history, as the fast sender makes them. */
const SLOT_BYTES = 1500;
const SLOTS = 256;
/** Packets between turns of the event loop (a frame's worth), so the sink's reads and the loop's timers run. */
const BURST = 20;

interface Step {
  routes: number;
  datagrams: number;
  cpuUsPerDatagram: number;
  userUs: number;
  systemUs: number;
  wallUsPerDatagram: number;
  refused: number;
}

interface Report {
  machine: ReturnType<typeof machineInfo>;
  pinned: boolean;
  packets: number;
  steps: Step[];
}

/** The reading side: `count` sockets that read and drop, their ports sent to the parent. */
async function sink(count: number): Promise<void> {
  const ports: number[] = [];
  for (let i = 0; i < count; i++) {
    const s = dgram.createSocket({ type: "udp4", recvBufferSize: 4 << 20 });
    s.on("message", () => undefined);
    s.bind(0, "127.0.0.1");
    await once(s, "listening");
    ports.push(s.address().port);
  }
  process.send?.(ports);
  process.on("disconnect", () => process.exit(0));
}

class Floor {
  private readonly children: ChildProcess[] = [];
  private readonly sockets: dgram.Socket[] = [];

  constructor(
    private readonly steps: number[],
    private readonly packets: number,
    private readonly pinned: boolean,
  ) {}

  async run(): Promise<Report> {
    const native = nativeFastPath;
    if (native === undefined) throw new Error(`the native fast path is ${nativeFastPathStatus}`);
    if (this.pinned) pin(process.pid, 0);
    const steps: Step[] = [];
    for (const routes of this.steps) steps.push(await this.step(routes));
    return { machine: machineInfo(), pinned: this.pinned, packets: this.packets, steps };
  }

  private async step(count: number): Promise<Step> {
    const native = nativeFastPath!;
    const child = fork(fileURLToPath(import.meta.url), ["--sink", String(count)], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    this.children.push(child);
    const [ports] = (await once(child, "message")) as [number[]];
    if (this.pinned && child.pid !== undefined) pin(child.pid, 1);
    const routes: object[] = [];
    for (let i = 0; i < count; i++) {
      const socket = dgram.createSocket("udp4");
      socket.bind(0, "127.0.0.1");
      await once(socket, "listening");
      this.sockets.push(socket);
      const fd = udpDescriptor(socket);
      if (fd === undefined) throw new Error("this Node gives no UDP descriptor");
      const protector = native.newProtector(PROFILE_AEAD_AES_128_GCM, Buffer.alloc(16, i & 0xff), Buffer.alloc(12, 1), undefined);
      const header = Buffer.alloc(12);
      header[0] = 0x80;
      header[1] = 96;
      const route = native.newRoute(protector, Buffer.alloc(SLOTS * SLOT_BYTES), SLOT_BYTES, header, -1, 1000 + i);
      native.routeTo(route, fd, ports[i], 0x7f000001);
      routes.push(route);
    }
    const payload = Buffer.alloc(PAYLOAD_BYTES, 7);
    // Warm up (the JIT, the sockets), then measure.
    const send = async (packets: number, from: number): Promise<number> => {
      let refused = 0;
      for (let p = 0; p < packets; p++) {
        const seq = (from + p) & 0xffff;
        for (const route of routes) if (native.sendRtp(route, payload, seq, (from + p) * 3000, 0, 0, RTP_SEND) <= 0) refused++;
        if (p % BURST === BURST - 1) await new Promise((r) => setImmediate(r));
      }
      return refused;
    };
    await send(Math.min(200, this.packets), 0);
    const cpu = process.cpuUsage();
    const started = performance.now();
    const refused = await send(this.packets, 1000);
    const wall = performance.now() - started;
    const used = process.cpuUsage(cpu);
    const datagrams = this.packets * count;
    for (const s of this.sockets.splice(0)) s.close();
    child.disconnect();
    return {
      routes: count,
      datagrams,
      cpuUsPerDatagram: (used.user + used.system) / datagrams,
      userUs: used.user / datagrams,
      systemUs: used.system / datagrams,
      wallUsPerDatagram: (wall * 1000) / datagrams,
      refused,
    };
  }

  async close(): Promise<void> {
    for (const s of this.sockets.splice(0)) s.close();
    for (const c of this.children.splice(0)) if (c.exitCode === null) c.kill();
  }
}

function print(r: Report): void {
  const m = r.machine;
  process.stdout.write(
    `bench:floor, ${m.cpuModel}, ${m.cores} cores, Node ${m.node}${r.pinned ? "; sender on core 0, sink on core 1" : ""}; ${r.packets} packets of ${PAYLOAD_BYTES} bytes to each route\n\n` +
      `| routes | datagrams | CPU µs per datagram | user / system µs | wall µs per datagram | refused by a full socket |\n|---|---|---|---|---|---|\n` +
      r.steps
        .map(
          (s) =>
            `| ${s.routes} | ${s.datagrams} | ${s.cpuUsPerDatagram.toFixed(2)} | ${s.userUs.toFixed(2)} / ${s.systemUs.toFixed(2)} | ${s.wallUsPerDatagram.toFixed(2)} | ${s.refused} |`,
        )
        .join("\n") +
      "\n",
  );
}

const { values, steps, packets } = benchOptions("bench:floor", "[--routes 16,100,300] [--packets 2000] [--pin] [--json]", () => {
  const { values } = parseArgs({
    options: {
      routes: { type: "string", default: "16,100,300" },
      packets: { type: "string", default: "2000" },
      pin: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      sink: { type: "string" },
    },
  });
  const steps = values.routes.split(",").map((s) => intArg("routes", s.trim(), 1, 2000));
  return { values, steps, packets: intArg("packets", values.packets, 100, 100_000) };
});

if (values.sink !== undefined) await sink(intArg("sink", values.sink, 1, 2000));
else await runBench("bench:floor", new Floor(steps, packets, values.pin), 600, print, values.json);

/**
 * This node's side of the cluster: it tells the cluster which devices it
 * holds, lists the devices other nodes hold to its own viewers (as Devices
 * of the local registry whose `home` is another node), and keeps one relay
 * leg open per remote device while anyone here watches it.
 */
import type { Device } from "../devices/device.js";
import { inspectJpeg } from "../frames/jpeg.js";
import type { Logger } from "../log.js";
import type { SessionContext } from "../sessions/context.js";
import type { Cluster } from "./cluster.js";
import { SNAPSHOT_ASKED_BY_NODE } from "../snapshots/routes.js";
import { heldKey, type DeviceEntry, type HeldDevice, type NodeEntry } from "./directory.js";
import { RelayLeg } from "./relay-leg.js";

/** How long a leg that ended while still needed waits before it is opened again, ms. */
const REOPEN_MS = 1000;
/** How long the home node may take to hand over a device's latest frame, ms. */
const FRAME_FETCH_MS = 5000;
/** The largest frame taken from a home node, bytes. */
const MAX_FETCHED_FRAME = 16 * 1024 * 1024;

/** Whether `device` is published on this node itself (not fed by a relay leg). */
const ownHere = (device: Device) => device.online && !device.currentPublisher?.relayed;

export class RemoteDevices {
  private readonly legs = new Map<Device, RelayLeg>();
  /** Remote devices as last applied, by heldKey. */
  private remote = new Map<string, HeldDevice>();
  /** When each of this node's own devices came online here, by heldKey. */
  private readonly since = new Map<string, number>();
  private readonly reopen = new Map<Device, NodeJS.Timeout>();
  private readonly log: Logger;
  private closed = false;

  constructor(
    private readonly cluster: Cluster,
    private readonly ctx: SessionContext,
    /** Viewer connections on this node, for its load. */
    private readonly viewers: () => number,
  ) {
    this.log = ctx.log.child("cluster");
    cluster.on("directory", (held) => this.apply(held));
    ctx.registry.on("created", (device) => device.on("changed", () => this.deviceChanged(device)));
    for (const device of ctx.registry.all()) device.on("changed", () => this.deviceChanged(device));
  }

  /** Starts announcing this node at `url`. */
  join(url: string): void {
    this.cluster.join(url, () => ({ devices: this.localDevices(), viewers: this.viewers() }));
  }

  /**
   * The latest frame of a device another node holds, as that node serves it
   * (`frame.jpg`: a pushed frame, or its video decoded there): one copy per
   * frame, kept where the device is. Undefined when the device is not
   * remote, has no frame, or its node does not answer.
   */
  async latestJpegOf(device: Device): Promise<{ jpeg: Buffer; etag: string; width: number; height: number } | undefined> {
    const home = this.remote.get(heldKey(device.account, device.id))?.node;
    if (!home) return undefined;
    const url = new URL(`/api/devices/${encodeURIComponent(device.id)}/frame.jpg`, home.url);
    try {
      const res = await fetch(url, {
        headers: { Authorization: `Bearer ${this.cluster.legToken(device.account)}` },
        signal: AbortSignal.timeout(FRAME_FETCH_MS),
      });
      if (res.status === 404) return undefined;
      if (!res.ok) throw new Error(`GET frame.jpg answered ${res.status}`);
      if (Number(res.headers.get("Content-Length") ?? 0) > MAX_FETCHED_FRAME) throw new Error("frame too large");
      const jpeg = Buffer.from(await res.arrayBuffer());
      const verdict = inspectJpeg(jpeg);
      if (!verdict.ok) throw new Error(verdict.message);
      return { jpeg, etag: res.headers.get("ETag") ?? `"n${jpeg.length}"`, width: verdict.width, height: verdict.height };
    } catch (err) {
      this.log.warn("could not fetch a frame from the device's node", { device: device.id, home: home.id, err: (err as Error).message });
      return undefined;
    }
  }

  /**
   * A snapshot another node stored (`GET /snapshots/{name}` there, with the
   * same signed query: every node checks it with the shared secret): the
   * first node that has it, or undefined.
   */
  async snapshotElsewhere(name: string, query: string): Promise<Buffer | undefined> {
    const others = this.cluster.nodes.filter((n) => n.id !== this.cluster.nodeId);
    const ask = async (node: NodeEntry) => {
      const res = await fetch(new URL(`/snapshots/${encodeURIComponent(name)}?${query}`, node.url), {
        headers: { [SNAPSHOT_ASKED_BY_NODE]: "1" },
        signal: AbortSignal.timeout(FRAME_FETCH_MS),
      });
      if (!res.ok || Number(res.headers.get("Content-Length") ?? 0) > MAX_FETCHED_FRAME) throw new Error(`answered ${res.status}`);
      return Buffer.from(await res.arrayBuffer());
    };
    try {
      return await Promise.any(others.map(ask));
    } catch {
      return undefined;
    }
  }

  /** Legs open now. */
  get openLegs(): number {
    return this.legs.size;
  }

  /** Closes every leg (the devices they fed go offline here). */
  close(): void {
    this.closed = true;
    for (const t of this.reopen.values()) clearTimeout(t);
    for (const leg of [...this.legs.values()]) leg.close("node shutting down");
  }

  /** This node's own devices: online here and not fed by a relay leg. */
  private localDevices(): DeviceEntry[] {
    const out: DeviceEntry[] = [];
    const seen = new Set<string>();
    for (const d of this.ctx.registry.all()) {
      if (!ownHere(d)) continue;
      const key = heldKey(d.account, d.id);
      seen.add(key);
      let since = this.since.get(key);
      if (since === undefined) this.since.set(key, (since = Date.now()));
      out.push({ account: d.account, id: d.id, name: d.name, kind: d.kind, since });
    }
    for (const key of this.since.keys()) if (!seen.has(key)) this.since.delete(key);
    return out;
  }

  /** A device's viewers, publisher or listing changed. */
  private deviceChanged(device: Device): void {
    if (this.closed) return;
    const own = ownHere(device);
    const key = heldKey(device.account, device.id);
    // Whether it is ours changed: tell the cluster.
    if (own !== this.since.has(key)) this.cluster.announce();
    // It connected here while relayed from another node: the leg must not take it back.
    if (own) this.stopRelaying(device, "the device is published on this node");
    else this.syncLeg(device);
  }

  /** The directory of other nodes' devices changed. */
  private apply(held: ReadonlyMap<string, HeldDevice>): void {
    if (this.closed) return;
    const registry = this.ctx.registry;
    const previous = this.remote;
    // First, so that the legs opened below find their home node.
    this.remote = new Map(held);
    for (const [key, entry] of held) {
      const existing = registry.get(entry.account, entry.id);
      // Published here too (it reconnected to this node): this node's own copy wins here.
      if (existing && ownHere(existing)) {
        this.stopRelaying(existing, "the device is published on this node");
        continue;
      }
      const before = previous.get(key);
      const device =
        existing && existing.name === entry.name && existing.kind === entry.kind ? existing : registry.ensure(entry.account, entry.id, entry.name, entry.kind);
      if (before && before.node.id !== entry.node.id) this.legs.get(device)?.close("the device moved to another node");
      device.setHome(entry.node.id);
      this.syncLeg(device);
    }
    for (const [key, gone] of previous) {
      if (held.has(key)) continue;
      const device = registry.get(gone.account, gone.id);
      if (!device) continue;
      device.setHome(undefined);
      this.legs.get(device)?.close("the device left the cluster");
    }
  }

  /** The device is no longer relayed to this node: no home elsewhere, no leg. */
  private stopRelaying(device: Device, reason: string): void {
    device.setHome(undefined);
    this.legs.get(device)?.close(reason);
  }

  /** Opens the device's leg while it is remote and watched here; closes it otherwise. */
  private syncLeg(device: Device): void {
    const home = device.home === undefined ? undefined : this.remote.get(heldKey(device.account, device.id))?.node;
    const wanted = home !== undefined && device.viewers > 0 && !this.closed;
    const leg = this.legs.get(device);
    if (!wanted) {
      leg?.close(home ? "no viewer here" : "the device is not remote");
      return;
    }
    if (leg || this.reopen.has(device)) return;
    const opened: RelayLeg = new RelayLeg({
      ctx: this.ctx,
      device,
      url: home.url,
      token: this.cluster.legToken(device.account),
      nodeId: this.cluster.nodeId,
      log: this.log,
      onClosed: (reason) => {
        if (this.legs.get(device) !== opened) return;
        this.legs.delete(device);
        if (this.closed) return;
        this.log.debug("relay leg ended", { device: device.id, reason });
        // Still wanted (a network blip, the home node restarting its side): try again shortly.
        this.reopen.set(
          device,
          setTimeout(() => {
            this.reopen.delete(device);
            this.syncLeg(device);
          }, REOPEN_MS),
        );
      },
    });
    this.legs.set(device, opened);
    this.log.info("relay leg opened", { device: device.id, home: home.id });
  }
}

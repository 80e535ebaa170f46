/**
 * The cluster's device directory as Redis holds it, and the pure rules that
 * read it: which node holds a device when more than one says so, and what a
 * node's entries look like on the wire. No I/O here.
 */
import { DEVICE_KINDS, type DeviceKind } from "../protocol/messages.js";

/** A node as it announces itself (`tessera:node:<id>`, refreshed by heartbeat). */
export interface NodeEntry {
  id: string;
  /** Where other nodes (relay legs) and redirected clients reach it: an http(s) origin. */
  url: string;
  /** Devices this node holds (published here, not relayed). */
  devices: number;
  /** Viewer connections on this node (every transport). */
  viewers: number;
  /** When the node started, unix ms. */
  startedAt: number;
}

/** One device a node holds (a field of `tessera:devices:<node>`). */
export interface DeviceEntry {
  account: string;
  id: string;
  name: string;
  kind: DeviceKind;
  /** When it came online on that node, unix ms: the newest holder wins. */
  since: number;
}

/** A device somewhere in the cluster, with the node that holds it. */
export interface HeldDevice extends DeviceEntry {
  node: NodeEntry;
}

/** Unix ms that a Date can hold (ECMAScript's 8.64e15 at most): what another node wrote may be anything. */
export const isTime = (v: unknown): v is number => typeof v === "number" && v >= 0 && v <= 8.64e15;

/** An http(s) URL, as a node's `url` must be for other nodes to reach it. */
function isOrigin(v: unknown): v is string {
  if (typeof v !== "string") return false;
  try {
    const u = new URL(v);
    return u.protocol === "http:" || u.protocol === "https:";
  } catch {
    return false;
  }
}

/** The hash field of a device: account and id as a JSON pair (both may hold any character). */
export function deviceField(account: string, id: string): string {
  return JSON.stringify([account, id]);
}

/** A device's hash value. */
export function deviceValue(d: DeviceEntry): string {
  return JSON.stringify({ name: d.name, kind: d.kind, since: d.since });
}

/** Reads one hash entry back; undefined for anything malformed (a foreign or older writer). */
export function parseDevice(field: string, value: string): DeviceEntry | undefined {
  try {
    const key: unknown = JSON.parse(field);
    const v = JSON.parse(value) as Partial<DeviceEntry>;
    if (!Array.isArray(key) || key.length !== 2 || typeof key[0] !== "string" || typeof key[1] !== "string") return undefined;
    const kind = DEVICE_KINDS.find((k) => k === v.kind);
    if (typeof v.name !== "string" || !isTime(v.since) || kind === undefined) return undefined;
    return { account: key[0], id: key[1], name: v.name, kind, since: v.since };
  } catch {
    return undefined;
  }
}

/** Reads a node entry back; undefined when malformed. */
export function parseNode(value: string | null): NodeEntry | undefined {
  if (!value) return undefined;
  try {
    const v = JSON.parse(value) as Partial<NodeEntry>;
    if (typeof v.id !== "string" || !isOrigin(v.url)) return undefined;
    const startedAt = Number(v.startedAt);
    return { id: v.id, url: v.url, devices: Number(v.devices) || 0, viewers: Number(v.viewers) || 0, startedAt: isTime(startedAt) ? startedAt : 0 };
  } catch {
    return undefined;
  }
}

/** The key of a device across the cluster. */
export function heldKey(account: string, id: string): string {
  return `${account}\u0000${id}`;
}

/**
 * Every device held by another node, one holder each. A device that two
 * nodes claim (it reconnected to a new node before the old entry expired)
 * belongs to the one where it came online last; equal times go to the
 * smaller node id, so that every node picks the same one.
 */
export function mergeHolders(nodes: readonly { node: NodeEntry; devices: readonly DeviceEntry[] }[]): Map<string, HeldDevice> {
  const out = new Map<string, HeldDevice>();
  for (const { node, devices } of nodes) {
    for (const d of devices) {
      const key = heldKey(d.account, d.id);
      const other = out.get(key);
      if (other && (other.since > d.since || (other.since === d.since && other.node.id < node.id))) continue;
      out.set(key, { ...d, node });
    }
  }
  return out;
}

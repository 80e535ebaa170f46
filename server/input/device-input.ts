import { SafeEmitter } from "../events.js";
import { DEVICE_MESSAGE_TYPES, MAX_DEVICE_MESSAGE_BYTES, type DeviceMessage } from "../protocol/messages.js";
import { ControlArbiter } from "./control.js";
import type { StreamSize } from "./lines.js";

/** Events of a device's input side. */
export interface DeviceInputEvents {
  /** Control changed hands; holder is a peer id or null. */
  control: [holder: string | null];
  /** `from` asked for control while `holder` holds it: the holder may hand over or refuse. */
  ask: [from: string, holder: string];
  /** The holder refused `to`'s ask. */
  refused: [to: string, holder: string];
  /** `to` asked for control of a device another node holds and was told no there (its holder is asked, or kept control), in `message`. */
  busy: [to: string, message: string];
  /** The holder now goes by another name (control did not change hands). */
  renamed: [holder: string];
  /** A valid device → viewers message, as the text to forward. */
  message: [text: string, message: DeviceMessage];
}

/** Why a device message was refused. */
export type DeviceMessageRejection = "too_long" | "not_json" | "bad_type";

/** The fields of a cursor message kept for late viewers: the position and the shape (protocol.md's `cursor`). */
const CURSOR_FIELDS = ["type", "x", "y", "visible", "png", "hotspotX", "hotspotY", "width", "height"] as const;

/**
 * The cursor state a late viewer needs: the known fields of the last cursor
 * message over those of the ones before it. Only CURSOR_FIELDS are kept, so
 * the merge stays within one message's size: a device sending new field
 * names each time would otherwise grow it (and the time each merge takes)
 * without bound.
 */
export function mergeCursor(previous: string | undefined, message: object): string {
  let base: Record<string, unknown> = {};
  if (previous) {
    try {
      base = JSON.parse(previous) as Record<string, unknown>;
    } catch {
      base = {};
    }
  }
  const latest = message as Record<string, unknown>;
  const merged: Record<string, unknown> = {};
  for (const field of CURSOR_FIELDS) {
    const value = field in latest ? latest[field] : base[field];
    if (value !== undefined) merged[field] = value;
  }
  return JSON.stringify(merged);
}

/** Messages replayed to a viewer that joins later: the latest of each type (cursor fields merged). */
export const STICKY_MESSAGES: ReadonlySet<string> = new Set(["state", "resolution", "cursor"]);
const TYPES: ReadonlySet<string> = new Set(DEVICE_MESSAGE_TYPES);

/**
 * Where control of a device another node holds is decided: that node, over
 * the relay leg. Actions go there on behalf of a local viewer; its answers
 * come back through `follow`, `askFrom` and `refusedThere`.
 */
export interface RemoteControl {
  control(peerId: string, name: string | undefined, action: "request" | "release" | "hand_over" | "refuse", to?: string): void;
}

/**
 * The input side of one device: who controls it, the channel to the device
 * (while one is open), the stream size that bounds pointer coordinates, and
 * the device's latest state for viewers that arrive later. Outlives the
 * device's connections, like the Device itself.
 */
export class DeviceInput extends SafeEmitter<DeviceInputEvents> {
  private readonly arbiter: ControlArbiter;
  private channel: ((line: string) => boolean) | undefined;
  private size: StreamSize | undefined;
  private readonly sticky = new Map<string, string>();
  private expiryTimer: NodeJS.Timeout | undefined;
  /** The holder's last pointer line, so its buttons can be released when control moves. */
  private lastPointer: { x: string; y: string; buttons: string } | undefined;
  /** Names viewers gave themselves, by peer id. */
  private readonly names = new Map<string, string>();
  /** The holder as of the last change. */
  private previousHolder: string | null = null;
  /** Who asked for control while it was held, since it last changed hands. */
  private readonly asks = new Set<string>();
  /** Set while another node holds the device: control is decided there, this arbiter follows. */
  private remote: RemoteControl | undefined;

  constructor(
    idleMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    super();
    this.arbiter = new ControlArbiter(idleMs);
  }

  get holder(): string | null {
    return this.arbiter.holder;
  }

  /** The stream size the device last reported. */
  get streamSize(): StreamSize | undefined {
    return this.size;
  }

  /** Control is decided by the node that holds the device from now on (or here again, with undefined: control is then free). */
  setRemote(remote: RemoteControl | undefined): void {
    if (remote === this.remote) return;
    this.remote = remote;
    this.asks.clear();
    const r = this.arbiter.follow(null, this.now());
    if (r) this.changed(null);
  }

  /** The node that holds the device says who controls it now (and the holder's name, when it has one). */
  follow(holder: string | null, name?: string): void {
    if (!this.remote) return;
    if (holder !== null && name !== undefined && this.names.get(holder) !== name) this.names.set(holder, name);
    const r = this.arbiter.follow(holder, this.now());
    if (r) this.changed(r.holder);
  }

  /** The node that holds the device: `from` asks our `holder` to hand over. */
  askFrom(from: string, holder: string, fromName?: string): void {
    if (!this.remote || this.arbiter.holder !== holder) return;
    if (fromName !== undefined) this.names.set(from, fromName);
    this.asks.add(from);
    this.emit("ask", from, holder);
  }

  /** The node that holds the device turned our viewer `to` down, saying `message` (the holder is asked, or kept control). */
  refusedThere(to: string, message: string): void {
    if (this.remote) this.emit("busy", to, message);
  }

  /** `peerId` asks for control: true when it holds it afterwards; otherwise the holder is asked to hand over. */
  request(peerId: string): boolean {
    if (this.remote) {
      // Decided there: the answer comes back as a control change, or `busy`/`refused`.
      if (this.arbiter.holder === peerId) return true;
      this.remote.control(peerId, this.names.get(peerId), "request");
      return true;
    }
    const r = this.arbiter.request(peerId, this.now());
    if (r !== "busy") {
      if (r) this.changed(r.holder);
      return true;
    }
    const holder = this.arbiter.holder;
    this.asks.add(peerId);
    if (holder !== null) this.emit("ask", peerId, holder);
    return false;
  }

  /** The holder hands control to `to`, who asked for it: false when `holder` does not hold it or `to` did not ask. */
  handOver(holder: string, to: string): boolean {
    if (!this.asks.has(to)) return false;
    if (this.remote) {
      if (this.arbiter.holder !== holder) return false;
      this.remote.control(holder, this.names.get(holder), "hand_over", to);
      return true;
    }
    const r = this.arbiter.transfer(holder, to, this.now());
    if (r) this.changed(r.holder);
    return r !== null;
  }

  /** The holder turns `to`'s ask down: false when `holder` does not hold control or `to` did not ask. */
  refuse(holder: string, to: string): boolean {
    if (this.arbiter.holder !== holder || !this.asks.delete(to)) return false;
    if (this.remote) this.remote.control(holder, this.names.get(holder), "refuse", to);
    else this.emit("refused", to, holder);
    return true;
  }

  /** The name `peerId` goes by, if it gave one. */
  nameOf(peerId: string | null): string | undefined {
    return peerId === null ? undefined : this.names.get(peerId);
  }

  /** `peerId` goes by `name` now (undefined: by its id); the holder renamed is news to every viewer. */
  setName(peerId: string, name: string | undefined): void {
    if (this.names.get(peerId) === name) return;
    if (name === undefined) this.names.delete(peerId);
    else this.names.set(peerId, name);
    if (this.arbiter.holder === peerId) this.emit("renamed", peerId);
  }

  /** `peerId` gives control up, or left (its ask goes too). */
  release(peerId: string): void {
    this.asks.delete(peerId);
    if (this.remote) {
      // Told there even when it holds nothing here: its pending ask goes too.
      this.remote.control(peerId, undefined, "release");
      return;
    }
    const r = this.arbiter.release(peerId);
    if (r) this.changed(r.holder);
  }

  /** True when `peerId` holds control now (and marks it active; another node, holding the device, times its idleness). */
  use(peerId: string): boolean {
    if (this.remote) return this.arbiter.holder === peerId;
    return this.arbiter.use(peerId, this.now());
  }

  /** Sets (or clears) the way to reach the device's `input` channel. */
  setChannel(send: ((line: string) => boolean) | undefined): void {
    this.channel = send;
  }

  /** Sends a line to the device; false when no channel is open. */
  toDevice(line: string): boolean {
    if (line.startsWith("m,")) {
      const [, x, y, buttons] = line.split(",");
      this.lastPointer = { x, y, buttons };
    }
    return this.channel ? this.channel(line) : false;
  }

  /**
   * Checks a message from the device and fans it out to viewers. Returns the
   * reason when it is refused.
   */
  fromDevice(text: string): DeviceMessageRejection | undefined {
    if (text.length > MAX_DEVICE_MESSAGE_BYTES) return "too_long";
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return "not_json";
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) return "not_json";
    const message = value as DeviceMessage;
    if (typeof message.type !== "string" || !TYPES.has(message.type)) return "bad_type";
    if (message.type === "resolution") {
      const { width, height } = message as { width?: unknown; height?: unknown };
      if (!Number.isInteger(width) || !Number.isInteger(height) || (width as number) < 1 || (height as number) < 1) return "bad_type";
      this.size = { width: width as number, height: height as number };
    }
    // A cursor message may carry only the shape or only the position: a late viewer gets both.
    if (message.type === "cursor") this.sticky.set("cursor", mergeCursor(this.sticky.get("cursor"), message));
    else if (STICKY_MESSAGES.has(message.type)) this.sticky.set(message.type, text);
    this.emit("message", text, message);
    return undefined;
  }

  /** The latest state, resolution and cursor messages, for a viewer that just joined. */
  replay(): string[] {
    return [...this.sticky.values()];
  }

  /** Stops the idle timer. */
  close(): void {
    clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
  }

  private changed(holder: string | null): void {
    // Control is granted when free or handed over, so any change ends a
    // holder: whatever it left pressed must not stay so.
    this.asks.clear();
    // The node that holds the device releases what the holder left pressed, and times idleness.
    if (this.remote) {
      this.previousHolder = holder;
      this.emit("control", holder);
      return;
    }
    if (this.previousHolder !== null) {
      this.toDevice("kr");
      const p = this.lastPointer;
      if (p && p.buttons !== "0") this.toDevice(`m,${p.x},${p.y},0,0`);
      this.lastPointer = undefined;
    }
    clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    if (holder !== null) this.armExpiry();
    this.previousHolder = holder;
    this.emit("control", holder);
  }

  /** Re-checks at the holder's expiry; activity moves it, so re-arm until it really expires. */
  private armExpiry(): void {
    const at = this.arbiter.expiresAt();
    if (at === undefined) return;
    this.expiryTimer = setTimeout(
      () => {
        this.expiryTimer = undefined;
        const r = this.arbiter.expire(this.now());
        if (r) this.changed(r.holder);
        else this.armExpiry();
      },
      Math.max(10, at - this.now() + 1),
    );
    this.expiryTimer.unref();
  }
}

import type { Metrics, ViewerTransport } from "../../metrics/metrics.js";
import type { Device } from "../devices/device.js";
import { badRequest, busy } from "../errors.js";
import { forwardInput, type InputLane } from "../input/forward.js";
import { PointerOrder } from "../input/pointer-order.js";
import type { TokenBucket } from "../input/rate-limiter.js";
import type { DeviceMessage } from "../protocol/messages.js";

/** What a seat passes on to its viewer, whatever carries it (signaling and a data channel, or the fallback socket). */
export interface SeatListener {
  /** Control of the device changed hands; holder is a peer id or null. */
  onControl(holder: string | null): void;
  /** A device → viewers message (state, cursor, clipboard…), as text and as checked. */
  onDeviceMessage(text: string, message: DeviceMessage): void;
  /** Another viewer (`from`) asks this one, the holder, to hand control over. */
  onAsk(from: string): void;
  /** The holder kept control when this viewer asked for it. */
  onRefused(holder: string): void;
  /** This viewer asked for control of a device another node holds and was told no there (`message` says why). */
  onBusy(message: string): void;
}

/** What a viewer may do about control; `hand_over` and `refuse` answer an ask and name its viewer in `to`. */
export type ControlAction = "request" | "release" | "hand_over" | "refuse";

/** What a seat is made of. */
export interface ViewerSeatOptions {
  device: Device;
  /** The viewer's peer id: who holds control, whose input counts. */
  peerId: string;
  /** The name it goes by, if it gave one. */
  name?: string;
  metrics: Metrics;
  /** The viewer's input rate limit (one per viewer connection, shared by its seats). */
  inputBucket: TokenBucket;
  listener: SeatListener;
  /** Counted among the device's viewers (default); a seat kept for a viewer of another node is not. */
  counted?: boolean;
}

/**
 * One viewer's place at one device, the same for every transport: it counts
 * as one of the device's viewers, hears control changes and device messages,
 * asks for and gives up control under the device's arbitration, sends input
 * lines within the viewer's rate, and on close gives everything back
 * (control released, listeners removed, viewer and transport counts down).
 */
export class ViewerSeat {
  readonly device: Device;
  readonly peerId: string;
  private readonly metrics: Metrics;
  private readonly inputBucket: TokenBucket;
  private readonly listener: SeatListener;
  private transport: ViewerTransport | undefined;
  private readonly order = new PointerOrder();
  private _closed = false;
  private readonly onControl = (holder: string | null) => this.listener.onControl(holder);
  private readonly onDeviceMessage = (text: string, message: DeviceMessage) => this.listener.onDeviceMessage(text, message);
  private readonly onAsk = (from: string, holder: string) => holder === this.peerId && this.listener.onAsk(from);
  private readonly onRefused = (to: string, holder: string) => to === this.peerId && this.listener.onRefused(holder);
  private readonly onBusy = (to: string, message: string) => to === this.peerId && this.listener.onBusy(message);
  private readonly counted: boolean;

  constructor(o: ViewerSeatOptions) {
    this.device = o.device;
    this.peerId = o.peerId;
    this.metrics = o.metrics;
    this.inputBucket = o.inputBucket;
    this.listener = o.listener;
    this.device.input.on("control", this.onControl);
    // A renamed holder is news to every viewer, told as control is (but it is no change of control).
    this.device.input.on("renamed", this.onControl);
    this.device.input.on("message", this.onDeviceMessage);
    if (o.name !== undefined) this.device.input.setName(o.peerId, o.name);
    this.device.input.on("ask", this.onAsk);
    this.device.input.on("refused", this.onRefused);
    this.device.input.on("busy", this.onBusy);
    this.counted = o.counted ?? true;
    if (this.counted) this.device.viewerDelta(1);
  }

  get closed(): boolean {
    return this._closed;
  }

  /** The viewer goes by `name` now. */
  rename(name: string): void {
    if (!this._closed) this.device.input.setName(this.peerId, name);
  }

  /** The name the holder (or `peerId`) goes by, if it gave one. */
  nameOf(peerId: string | null): string | undefined {
    return this.device.input.nameOf(peerId);
  }

  /** The peer holding control now, or null. */
  get holder(): string | null {
    return this.device.input.holder;
  }

  /** The device's latest sticky messages, for a viewer that just arrived. */
  replay(): string[] {
    return this.device.input.replay();
  }

  /**
   * The viewer asks for control (busy when another holds it, who is asked to
   * hand over), gives it up, or, holding it, answers another viewer's ask.
   */
  control(action: ControlAction, to?: string): void {
    if (this._closed) throw badRequest("this viewer no longer watches the device");
    const input = this.device.input;
    switch (action) {
      case "release":
        return input.release(this.peerId);
      case "request":
        if (!input.request(this.peerId)) throw busy(`another viewer controls '${this.device.id}'; they are asked to hand it over`);
        return;
      case "hand_over":
      case "refuse":
        if (!to) throw badRequest(`${action} names the viewer that asked, in 'to'`);
        if (!(action === "hand_over" ? input.handOver(this.peerId, to) : input.refuse(this.peerId, to))) {
          throw badRequest(`no ask from '${to}' to answer: control is not yours, or they did not ask (or left)`);
        }
    }
  }

  /** One input line (from the reliable lane unless said): only the controlling viewer's valid lines reach the device, within its rate, in order. */
  input(line: string, lane: InputLane = "input"): void {
    if (this._closed) return;
    forwardInput(this.metrics, this.device, this.peerId, this.inputBucket, this.order, lane, line);
  }

  /** The viewer's media reaches it over `transport` now (counted in tessera_viewers), or no longer (undefined). */
  setTransport(transport: ViewerTransport | undefined): void {
    if (this._closed || transport === this.transport) return;
    if (this.transport) this.metrics.viewerDisconnected(this.transport);
    this.transport = transport;
    if (transport) this.metrics.viewerConnected(transport);
  }

  /**
   * Gives the seat up; idempotent. `keepControl`: the same viewer takes a new
   * seat at once (a `watch` again), so control it holds stays with its peer id.
   */
  close(keepControl = false): void {
    if (this._closed) return;
    this.setTransport(undefined);
    this._closed = true;
    this.device.input.off("control", this.onControl);
    this.device.input.off("renamed", this.onControl);
    this.device.input.off("message", this.onDeviceMessage);
    this.device.input.off("ask", this.onAsk);
    this.device.input.off("refused", this.onRefused);
    this.device.input.off("busy", this.onBusy);
    if (!keepControl) this.device.input.release(this.peerId);
    this.device.input.setName(this.peerId, undefined);
    if (this.counted) this.device.viewerDelta(-1);
  }
}

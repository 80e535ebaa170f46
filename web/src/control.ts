import type { ClientMessage, ControlAction, ControlState, DeviceMessage, ErrorMessage } from "../../server/protocol/messages.js";
import { ControlBar, viewerLabel, type ControlView } from "./control-bar.js";
import { DevicePanels } from "./device-panels.js";
import { byId } from "./dom.js";
import { parseDeviceMessage } from "./input-lines.js";
import type { Picture } from "./picture.js";
import { PointerLanes, SETTLE_MS } from "./pointer-lane.js";
import { RemoteCursor } from "./remote-cursor.js";
import { SoftKeyboard } from "./soft-keyboard.js";
import { ScaleModes } from "./scale-mode.js";
import { PinchZoom } from "./pinch-zoom.js";
import { RemoteInput } from "./remote-input.js";
import { ResizeFollower } from "./resize-follow.js";
import { PushToTalk, type TalkState } from "./talk.js";
import { FullscreenPlayer } from "./fullscreen.js";
import { InputEcho } from "./input-echo.js";

/** Input lines kept for `window.tessera.sentLines`. */
const SENT_KEPT = 200;
/**
 * How long a release waits after the `input` channel has drained. The lines
 * that let go of keys and buttons travel on the data channel, the release on
 * the socket; the server drops lines from a viewer that no longer controls,
 * so they should get there first.
 */
const RELEASE_GRACE_MS = 50;

/**
 * The WebSocket fallback's socket, as the Controller uses it: input lines and
 * control requests travel on it in order, and its peer id is the one the
 * holder is compared with.
 */
export interface SocketChannel {
  readonly kind: "socket";
  /** "open" while lines can be sent. */
  readonly readyState: "open" | "closed";
  readonly bufferedAmount: number;
  /** This viewer's peer id on the socket (from `ready`). */
  readonly peerId: string | undefined;
  send(line: string): void;
  /** Sends `{type: "control", action, to?}`; false when the socket is not open. */
  control(action: ControlAction, to?: string): boolean;
  /** Sends `{type: "name", name}`: the name other viewers see. */
  rename(name: string): boolean;
}

/** Where input lines go: the WebRTC `input` data channel, or the fallback socket. */
export type InputChannel = RTCDataChannel | SocketChannel;

const isSocket = (c: InputChannel | undefined): c is SocketChannel => c !== undefined && "kind" in c && c.kind === "socket";

/**
 * Control of the watched device, for the viewer page: follows the holder,
 * asks for and gives up control, turns input capture and push-to-talk on
 * while this viewer holds it, and shows what the device says on `input`.
 */
export class Controller {
  /** The last lines sent on `input`, oldest first (tests read them). */
  readonly sentLines: string[] = [];
  private deviceId: string | undefined;
  private peerId: string | undefined;
  /** The holder's peer id; null when free, undefined until the server says. */
  private holder: string | null | undefined;
  /** The holder's name, when it gave one. */
  private holderName: string | undefined;
  /** The last `control` signaling said, kept while the fallback socket is in use (the page may come back to WebRTC). */
  private signaled: ControlState | undefined;
  private _channel: InputChannel | undefined;
  /** The WebRTC `pointer` lane beside `input`, when there is one. */
  private pointer: RTCDataChannel | undefined;
  /** One for the page's life: its sequence numbers only grow, whatever the connection. */
  private readonly lanes = new PointerLanes();
  private settleTimer: number | undefined;
  private _resolution: { width: number; height: number } | undefined;
  /** The device said (in its `resolution` message) that it resizes its screen on request. */
  private resizable = false;
  private readonly bar: ControlBar;
  private readonly panels = new DevicePanels();
  private readonly input: RemoteInput;
  private readonly talk: PushToTalk;
  private readonly fullscreen: FullscreenPlayer;
  private readonly cursor: RemoteCursor;
  private readonly softKeys: SoftKeyboard;
  private readonly scale: ScaleModes;
  private readonly zoom: PinchZoom;
  /** Where this viewer's ask for control stands: sent, waiting for the holder's answer, or none. */
  private asking: "none" | "sent" | "waiting" = "none";
  /** The holder the bar shows, to notice changes of hands. */
  private shownHolder: string | null | undefined;
  private readonly resizer: ResizeFollower;
  /** The user just asked for control: focus the picture when it is granted. */
  private wantsFocus = false;
  private readonly echo: InputEcho;

  /** `roundTrip` hears the input round trip while this viewer controls (undefined otherwise, or before the device answers). */
  constructor(
    private readonly picture: Picture,
    private readonly signal: (msg: ClientMessage) => boolean,
    roundTrip: (ms: number | undefined) => void = () => {},
  ) {
    // On the reliable lane, like keys, and not in sentLines: it is not the user's input.
    this.echo = new InputEcho((line) => {
      const channel = this._channel;
      if (!channel || channel.readyState !== "open") return false;
      channel.send(line);
      return true;
    }, roundTrip);
    this.bar = new ControlBar({
      toggle: () => this.toggle(),
      talk: (down) => (down ? void this.talk.press() : this.talk.release()),
      settings: (line) => this.send(line),
      answer: (to, handOver) => this.answer(to, handOver),
      lockPointer: () => this.input.lockPointer(),
    });
    this.talk = new PushToTalk((state, detail) => this.bar.setTalk(state, detail));
    this.cursor = new RemoteCursor(picture, byId("remote-cursor"));
    this.zoom = new PinchZoom(picture.elements, byId("player"), () => this.mine);
    this.scale = new ScaleModes(byId<HTMLSelectElement>("scale"), byId("player"), picture, () => this.update());
    this.softKeys = new SoftKeyboard(byId("soft-keys"), byId<HTMLTextAreaElement>("soft-input"), byId<HTMLButtonElement>("soft-keyboard"), (line) =>
      this.send(line),
    );
    this.fullscreen = new FullscreenPlayer(byId("player"), byId<HTMLButtonElement>("fullscreen"), picture.elements, () => this.capturingKeys);
    this.input = new RemoteInput(
      picture,
      { send: (line) => this.send(line), escape: () => this.release(), note: (text) => this.bar.setNote(text) },
      byId("player"),
    );
    const stage = picture.video.parentElement ?? picture.video;
    this.resizer = new ResizeFollower(
      stage,
      (line) => this.send(line),
      () => this._resolution,
    );
    this.watch(undefined);
  }

  /** The input round trip while in control, ms (undefined when not measured). */
  get roundTripMs(): number | undefined {
    return this.echo.ms;
  }

  /** True while this viewer holds control. */
  get mine(): boolean {
    const me = isSocket(this._channel) ? this._channel.peerId : this.peerId;
    return this.holder != null && this.holder === me;
  }

  /** Who holds control: a peer id, null when free, undefined when not known yet. */
  get holderId(): string | null | undefined {
    return this.holder;
  }

  get channel(): InputChannel | undefined {
    return this._channel;
  }

  get pointerChannel(): RTCDataChannel | undefined {
    return this.pointer;
  }

  /** The stream size the device last reported. */
  get resolution(): { width: number; height: number } | undefined {
    return this._resolution;
  }

  get deviceState(): DeviceMessage | undefined {
    return this.panels.state;
  }

  get deviceClipboard(): { text: string } | { png: string } | undefined {
    return this.panels.clipboardValue;
  }

  get talkState(): TalkState {
    return this.talk.state;
  }

  /** Our peer id from `welcome`; a new socket is a new session, so the holder is unknown until it is re-sent. */
  setPeerId(peerId: string): void {
    this.peerId = peerId;
    this.signaled = undefined;
    // Over the fallback socket the holder comes from that socket, which did not change.
    if (isSocket(this._channel)) return;
    this.holder = undefined;
    this.update();
  }

  /** Another device (or none) is being watched: forget everything about the last one. */
  watch(deviceId: string | undefined): void {
    // Let go of everything on the old device while its channel is still there.
    this.input.setActive(false);
    this.resizer.setActive(false);
    this.talk.stop();
    this.deviceId = deviceId;
    this.holder = undefined;
    this.signaled = undefined;
    this._resolution = undefined;
    this.picture.setSourceSize(undefined);
    this.resizable = false;
    this.picture.video.parentElement?.style.removeProperty("--remote-cursor");
    this.panels.clear();
    this.cursor.clear();
    this.zoom.reset();
    this.setChannel(undefined);
    this.bar.setVisible(deviceId !== undefined);
    this.update();
  }

  /**
   * The current connection's `input` channel (and its `pointer` lane), the
   * fallback socket, or none. Device messages on a data channel are read
   * here; the fallback socket's arrive through `deviceMessage`.
   */
  setChannel(channel: InputChannel | undefined, pointer?: RTCDataChannel): void {
    const old = this._channel;
    if (old === channel) return;
    this.pointer = pointer;
    this.lanes.reset();
    clearTimeout(this.settleTimer);
    if (old && !isSocket(old)) old.onmessage = null;
    const modeChanged = isSocket(old) !== isSocket(channel);
    this._channel = channel;
    if (modeChanged) {
      // Control is held per connection: on the socket it says who holds it; back on WebRTC, signaling did.
      this.holder = isSocket(channel) ? undefined : this.signaled?.holder;
      this.holderName = isSocket(channel) ? undefined : this.signaled?.holderName;
      this.update();
    }
    if (!channel || isSocket(channel)) return;
    channel.onmessage = (ev) => {
      if (channel !== this._channel || typeof ev.data !== "string") return;
      this.deviceMessage(ev.data);
    };
  }

  /** This viewer goes by `name` now: the server (or the fallback socket) tells the device's other viewers. */
  rename(name: string): void {
    const channel = this._channel;
    if (isSocket(channel)) channel.rename(name);
  }

  /** The server or the device is gone (`why`, in words), or back (undefined): the control bar says so and greys out. */
  setLost(why: string | undefined): void {
    this.bar.setLost(why);
    this.update();
  }

  /** The current connection's talk-back sender (or none). */
  setTalkSender(sender: RTCRtpSender | undefined): void {
    this.talk.setSender(sender);
    this.bar.setTalkAvailable(sender !== undefined);
  }

  /** A `control` message from the signaling server (kept, not shown, while the fallback socket is in use: it says). */
  controlChanged(msg: ControlState): void {
    if (msg.deviceId !== this.deviceId) return;
    this.signaled = msg;
    if (isSocket(this._channel)) return;
    this.holder = msg.holder;
    this.holderName = msg.holderName;
    this.update();
  }

  /** A `control` message on the fallback socket. */
  socketControl(holder: string | null, holderName?: string): void {
    if (!isSocket(this._channel)) return;
    this.holder = holder;
    this.holderName = holderName;
    this.update();
  }

  /**
   * An `error` about a control request. `busy` answers a request while
   * someone holds control (they are asked to hand over) and, later, their
   * refusal; a free device taken first by someone else is busy too.
   */
  refused(msg: Pick<ErrorMessage, "message"> & { code: string }): void {
    this.wantsFocus = false;
    const holder = typeof this.holder === "string" ? viewerLabel(this.holder, this.holderName) : "Someone";
    if (msg.code !== "busy") this.bar.setNote(msg.message);
    else if (this.asking === "sent") {
      this.asking = "waiting";
      this.bar.setNote(`Asked ${holder} to hand control over…`);
    } else {
      this.asking = "none";
      this.bar.setNote(this.holder === null || this.holder === undefined ? "Someone else took control first." : `${holder} keeps control.`);
    }
  }

  /** Another viewer (`from`, maybe with its name) asks this one for control: the holder hands over or keeps it. */
  asked(from: string, name?: string): void {
    if (this.mine) this.bar.showAsk(from, name);
  }

  /** The holder's answer to an ask. */
  private answer(to: string, handOver: boolean): void {
    if (!this.deviceId || !this.mine) return;
    const action = handOver ? "hand_over" : "refuse";
    const channel = this._channel;
    if (handOver) this.input.setActive(false);
    if (isSocket(channel)) channel.control(action, to);
    else this.signal({ type: "control", action, deviceId: this.deviceId, to });
  }

  private toggle(): void {
    if (this.mine) {
      this.release();
      return;
    }
    if (!this.deviceId || this.holder === undefined) return;
    const channel = this._channel;
    if (isSocket(channel) ? channel.control("request") : this.signal({ type: "control", action: "request", deviceId: this.deviceId })) {
      this.wantsFocus = true;
      // Held by someone else: this is an ask, answered later.
      this.asking = this.holder === null ? "none" : "sent";
      this.bar.setPending();
    }
  }

  /** Lets go of everything on the device, then gives control up. */
  private release(): void {
    const deviceId = this.deviceId;
    if (!deviceId || !this.mine) return;
    this.input.setActive(false);
    this.talk.stop();
    this.bar.setPending();
    const channel = this._channel;
    // On the fallback socket the release follows the lines that let go, in order: no grace needed.
    if (isSocket(channel)) return void channel.control("release");
    let sent = false;
    const signal = () => {
      if (sent) return;
      sent = true;
      this.signal({ type: "control", action: "release", deviceId });
    };
    if (!channel || channel.readyState !== "open") return signal();
    const later = () => setTimeout(signal, RELEASE_GRACE_MS);
    if (channel.bufferedAmount === 0) return void later();
    channel.bufferedAmountLowThreshold = 0;
    channel.addEventListener("bufferedamountlow", later, { once: true });
    channel.addEventListener("close", signal, { once: true });
  }

  private send(line: string): boolean {
    const channel = this._channel;
    if (!channel || channel.readyState !== "open") return false;
    const pointer = this.pointer?.readyState === "open" ? this.pointer : undefined;
    const routed = this.lanes.route(line, pointer !== undefined);
    (routed.lane === "pointer" && pointer ? pointer : channel).send(routed.line);
    if (pointer) {
      clearTimeout(this.settleTimer);
      if (routed.lane === "pointer") this.settleTimer = window.setTimeout(() => this.settle(), SETTLE_MS);
    }
    this.record(routed.line);
    return true;
  }

  private record(line: string): void {
    this.sentLines.push(line);
    if (this.sentLines.length > SENT_KEPT) this.sentLines.splice(0, this.sentLines.length - SENT_KEPT);
  }

  /** The pointer came to rest: its last position once more, on `input`. */
  private settle(): void {
    const settled = this.lanes.settle();
    const channel = this._channel;
    if (!settled || !channel || channel.readyState !== "open") return;
    channel.send(settled.line);
    this.record(settled.line);
  }

  /** A message from the device (cursor, clipboard, state, resolution), from whichever channel carries them. */
  deviceMessage(text: string): void {
    const msg = parseDeviceMessage(text);
    if (!msg) return;
    if (msg.type === "resolution" && Number.isInteger(msg.width) && Number.isInteger(msg.height)) {
      this._resolution = { width: msg.width as number, height: msg.height as number };
      // Coordinates are the device's pixels, whichever simulcast layer this viewer receives.
      this.picture.setSourceSize(this._resolution);
      this.resizable = msg.resizable === true;
      this.resizer.setActive(this.resizing);
    }
    if (msg.type === "pong") return this.echo.answer(msg.n);
    if (msg.type === "cursor") {
      this.showCursor(msg);
      this.cursor.show(msg);
    }
    this.panels.show(msg);
  }

  /** A desktop's pointer shape becomes the controller's own pointer over the picture (a PNG with its hotspot). */
  private showCursor(msg: DeviceMessage): void {
    const stage = this.picture.video.parentElement;
    const { png, hotspotX, hotspotY } = msg;
    if (!stage) return;
    const valid =
      typeof png === "string" && png.length < 65_536 && /^[A-Za-z0-9+/]+={0,2}$/.test(png) && Number.isInteger(hotspotX) && Number.isInteger(hotspotY);
    // A message with the position only (for watchers) leaves the shape as it is.
    if (png === undefined) return;
    if (valid) stage.style.setProperty("--remote-cursor", `url("data:image/png;base64,${png}") ${hotspotX as number} ${hotspotY as number}, crosshair`);
    else stage.style.removeProperty("--remote-cursor");
  }

  /** The device takes the player's size: it can, this viewer controls it, and the scale mode asks for it. */
  private get resizing(): boolean {
    return this.mine && this.resizable && this.scale.mode === "resize";
  }

  /** Keys go to the device now: this viewer controls it and the picture has focus. */
  private get capturingKeys(): boolean {
    return this.mine && document.activeElement === this.picture.element;
  }

  private update(): void {
    if (this.holder !== this.shownHolder) {
      // Control changed hands: an ask is answered (or moot), and one shown to us is gone.
      this.shownHolder = this.holder;
      this.asking = "none";
      this.bar.showAsk(undefined);
    }
    const view: ControlView =
      this.deviceId === undefined || this.holder === undefined
        ? { kind: "unknown" }
        : this.holder === null
          ? { kind: "none" }
          : this.mine
            ? { kind: "self" }
            : { kind: "other", holder: this.holder, name: this.holderName };
    this.bar.setControl(view);
    const mine = view.kind === "self";
    this.input.setActive(mine);
    this.fullscreen.setControlling(mine);
    this.cursor.setControlling(mine);
    this.softKeys.setActive(mine && this.bar.reachable);
    this.echo.setActive(mine && this.bar.reachable);
    this.resizer.setActive(this.resizing);
    if (!mine) {
      this.talk.stop();
      this.wantsFocus = false;
    } else if (this.wantsFocus) {
      this.wantsFocus = false;
      this.picture.element.focus({ preventScroll: true });
    }
  }
}

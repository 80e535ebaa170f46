/** Types for the parts of the `x11` package (pure-JS X11 client) that Tessera's X11 desktop and its tests use. */
declare module "x11" {
  import type { EventEmitter } from "node:events";

  /** An X protocol error as the package reports it. */
  export interface XError extends Error {
    error?: number;
    seq?: number;
    badParam?: number;
    majorOpcode?: number;
    minorOpcode?: number;
  }

  /** A request callback; return true from it when `err` was handled, or the client also emits 'error'. */
  export type XCallback<T> = (err: XError | null | undefined, result: T) => unknown;

  /** One screen of the connection setup reply. */
  export interface XScreen {
    root: number;
    pixel_width: number;
    pixel_height: number;
    white_pixel: number;
    black_pixel: number;
    root_depth: number;
    root_visual: number;
  }

  /** The connection setup reply. */
  export interface XDisplay {
    screen: XScreen[];
    min_keycode: number;
    max_keycode: number;
    client: XClient;
  }

  /** Any event, core or extension; which fields are present depends on `name`/`type`. */
  export interface XEvent {
    type: number;
    name?: string;
    seq: number;
    /** Core events: the event window. */
    wid?: number;
    /** ConfigureNotify: the configured window. */
    wid1?: number;
    /** Key/button events: the keycode or button number. */
    keycode?: number;
    time?: number;
    x?: number;
    y?: number;
    rootx?: number;
    rooty?: number;
    width?: number;
    height?: number;
    owner?: number;
    requestor?: number;
    selection?: number;
    target?: number;
    property?: number;
    /** MappingNotify. */
    request?: number;
    firstKeyCode?: number;
    count?: number;
    /** XFIXES events: the subtype, the window, the cursor serial. */
    subtype?: number;
    window?: number;
    cursorSerial?: number;
  }

  /** GetProperty's reply. */
  export interface XProperty {
    type: number;
    format: number;
    bytesAfter: number;
    data: Buffer;
  }

  /** An event object for SendEvent / packEvent. */
  export interface XEventSpec {
    name: string;
    [field: string]: unknown;
  }

  /** Window attributes (CreateWindow / ChangeWindowAttributes value list). */
  export interface XWindowAttributes {
    eventMask?: number;
    cursor?: number;
    backgroundPixel?: number;
    overrideRedirect?: number;
  }

  /** An RGB triple of 16-bit channels. */
  export interface XRgb {
    R: number;
    G: number;
    B: number;
  }

  /** The XTEST extension. */
  export interface XTest {
    KeyPress: number;
    KeyRelease: number;
    ButtonPress: number;
    ButtonRelease: number;
    MotionNotify: number;
    /** Note the order: type, keycode/button (0 for motion), time, root window, x, y. */
    FakeInput(type: number, detail: number, time: number, wid: number, x: number, y: number): void;
  }

  /** XFixes GetCursorImage's reply: `cursorImage` is width*height premultiplied ARGB32 pixels. */
  export interface XCursorImage {
    x: number;
    y: number;
    width: number;
    height: number;
    xhot: number;
    yhot: number;
    cursorSerial: number;
    cursorImage: Buffer;
  }

  /** The DAMAGE extension: reports that a drawable's contents changed. */
  export interface XDamage {
    firstEvent: number;
    events: { DamageNotify: number };
    ReportLevel: { RawRectangles: number; DeltaRectangles: number; BoundingBox: number; NonEmpty: number };
    /** Starts tracking `drawable`; with NonEmpty, one DamageNotify until the damage is subtracted. */
    Create(damage: number, drawable: number, reportLevel: number): void;
    /** Repairs the damage (repair and parts 0: all of it), arming the next DamageNotify. */
    Subtract(damage: number, repair: number, parts: number): void;
  }

  /** The XFIXES extension. */
  export interface XFixes {
    firstEvent: number;
    major: number;
    minor: number;
    events: { SelectionNotify: number; CursorNotify: number };
    SelectionEvent: { SetSelectionOwner: number; SelectionWindowDestroy: number; SelectionClientClose: number };
    SelectionEventMask: { SetSelectionOwner: number; SelectionWindowDestroy: number; SelectionClientClose: number };
    CursorNotifyMask: { DisplayCursor: number };
    SelectSelectionInput(window: number, selection: number, eventMask: number): void;
    SelectCursorInput(window: number, eventMask: number): void;
    GetCursorImage(cb: XCallback<XCursorImage>): void;
  }

  /** GetScreenSizeRange's reply. */
  export interface XRandrSizeRange {
    minWidth: number;
    minHeight: number;
    maxWidth: number;
    maxHeight: number;
  }

  /** A MODEINFO (GetScreenResources, CreateMode). */
  export interface XRandrModeInfo {
    id: number;
    width: number;
    height: number;
    dot_clock: number;
    h_sync_start: number;
    h_sync_end: number;
    h_total: number;
    h_skew: number;
    v_sync_start: number;
    v_sync_end: number;
    v_total: number;
    modeflags: number;
    name: string;
  }

  /** GetScreenResources' reply. */
  export interface XRandrScreenResources {
    timestamp: number;
    config_timestamp: number;
    crtcs: number[];
    outputs: number[];
    modeinfos: XRandrModeInfo[];
  }

  /** GetOutputInfo's reply; connection 0 is Connected, crtc 0 is None. */
  export interface XRandrOutputInfo {
    timestamp: number;
    crtc: number;
    mm_width: number;
    mm_height: number;
    connection: number;
    crtcs: number[];
    modes: number[];
    clones: number[];
    name: string;
  }

  /** GetCrtcInfo's reply; mode 0 is a disabled CRTC. */
  export interface XRandrCrtcInfo {
    status: number;
    timestamp: number;
    x: number;
    y: number;
    width: number;
    height: number;
    mode: number;
    rotation: number;
    rotations: number;
    output: number[];
    possible: number[];
  }

  /** The RANDR extension (1.2 requests; version as the server answered QueryVersion). */
  export interface XRandr {
    major_version: number;
    minor_version: number;
    GetScreenSizeRange(window: number, cb: XCallback<XRandrSizeRange>): void;
    GetScreenResources(window: number, cb: XCallback<XRandrScreenResources>): void;
    GetOutputInfo(output: number, configTimestamp: number, cb: XCallback<XRandrOutputInfo>): void;
    GetCrtcInfo(crtc: number, configTimestamp: number, cb: XCallback<XRandrCrtcInfo>): void;
    /** Replies with the new mode's id. */
    CreateMode(window: number, mode: Omit<XRandrModeInfo, "id">, cb: XCallback<number>): void;
    DestroyMode(mode: number): void;
    AddOutputMode(output: number, mode: number): void;
    DeleteOutputMode(output: number, mode: number): void;
    SetScreenSize(window: number, width: number, height: number, mmWidth: number, mmHeight: number): void;
    /** status 0 is Success; mode 0 with no outputs disables the CRTC. */
    SetCrtcConfig(
      crtc: number,
      timestamp: number,
      configTimestamp: number,
      x: number,
      y: number,
      mode: number,
      rotation: number,
      outputs: number[],
      cb: XCallback<{ status: number; timestamp: number }>,
    ): void;
  }

  /** GetGeometry's reply. */
  export interface XGeometry {
    windowid: number;
    xPos: number;
    yPos: number;
    width: number;
    height: number;
    borderWidth: number;
  }

  /** An entry of the client's reply table: the reply parser (null for a request without reply) and the callback. */
  export type XReplyHandler = [unpack: ((buf: Buffer, opt: number) => unknown) | null, callback: XCallback<unknown>];

  /** A client connection. Requests are queued on the socket; callbacks get replies or errors. */
  export interface XClient extends EventEmitter {
    display: XDisplay;
    /** The sequence number of the last request sent. */
    seq_num: number;
    /** Pending requests by sequence number: a void request registered here hears of its error, or of its success once a later packet arrives. */
    replies: Record<number, XReplyHandler>;
    AllocID(): number;
    /** Loads an extension: "xtest" gives an XTest, "fixes" an XFixes, "randr" an XRandr. */
    require<T extends XTest | XFixes | XRandr | XDamage>(name: "xtest" | "fixes" | "randr" | "damage", cb: (err: Error | null, ext: T) => void): void;
    GetGeometry(drawable: number, cb: XCallback<XGeometry>): void;
    /** Where the pointer is: `rootX`, `rootY` on the root window of `wid`'s screen. */
    QueryPointer(wid: number, cb: XCallback<{ rootX: number; rootY: number; sameScreen: number }>): void;
    InternAtom(onlyIfExists: boolean, name: string, cb: XCallback<number>): void;
    CreateWindow(
      wid: number,
      parent: number,
      x: number,
      y: number,
      width: number,
      height: number,
      borderWidth: number,
      depth: number,
      windowClass: number,
      visual: number,
      attributes: XWindowAttributes,
    ): void;
    ChangeWindowAttributes(wid: number, attributes: XWindowAttributes): void;
    MapWindow(wid: number): void;
    /** revertTo: 0 None, 1 PointerRoot, 2 Parent. */
    SetInputFocus(wid: number, revertTo: number): void;
    DestroyWindow(wid: number): void;
    GetKeyboardMapping(firstKeycode: number, count: number, cb: XCallback<number[][]>): void;
    ChangeKeyboardMapping(firstKeycode: number, keysymsPerKeycode: number, keysyms: number[]): void;
    SetSelectionOwner(owner: number, selection: number, time?: number): void;
    GetSelectionOwner(selection: number, cb: XCallback<number>): void;
    ConvertSelection(requestor: number, selection: number, target: number, property: number, time?: number): void;
    /** mode 0 replace; format 8, 16 or 32. */
    ChangeProperty(mode: number, wid: number, name: number, type: number, format: number, data: Buffer | number[]): void;
    DeleteProperty(wid: number, name: number): void;
    GetProperty(del: number, wid: number, name: number, type: number, longOffset: number, longLength: number, cb: XCallback<XProperty>): void;
    SendEvent(destination: number, propagate: number, eventMask: number, event: XEventSpec): void;
    OpenFont(fid: number, name: string): void;
    CreateGlyphCursor(cid: number, sourceFont: number, maskFont: number, sourceChar: number, maskChar: number, fore: XRgb, back: XRgb): void;
    /** Round trip: resolves once the server processed every request sent so far. */
    sync(): Promise<void>;
    /** Flushes and ends the socket. */
    terminate(): void;
  }

  export function createClient(options: { display?: string; shm?: boolean }, cb: (err: Error | undefined | null, display: XDisplay) => void): XClient;
  export const eventMask: Record<string, number>;

  const x11: { createClient: typeof createClient; eventMask: typeof eventMask };
  export default x11;
}

/** Types for the parts of gstreamer-superficial that Tessera uses. */
declare module "gstreamer-superficial" {
  export interface GstBusMessage {
    type: string;
    _src_element_name?: string;
    name?: string;
    message?: string;
    [key: string]: unknown;
  }
  export interface GstElement {
    [property: string]: unknown;
    /** With `into` (scripts/addon-fixes.mjs), a buffer that fits is copied into it and `bytes` says how much. */
    pull?(cb: (buf: Buffer | undefined, caps?: Record<string, unknown>, bytes?: number) => void, into?: Buffer): void;
    push?(buf: Buffer, pts?: Buffer): void;
  }
  export class Pipeline {
    constructor(description: string);
    play(): void;
    pause(): void;
    stop(): void;
    sendEOS(): void;
    forceKeyUnit(elementName: string, count: number): boolean;
    findChild(name: string): GstElement | null;
    pollBus(cb: (msg: GstBusMessage) => void): void;
  }
  const gstreamer: { Pipeline: typeof Pipeline };
  export default gstreamer;
}

/** A WebSocket fallback viewer for tests: says hello, records every message, acks frames when asked to. */
import WebSocket from "ws";
import { parseStripe, type Stripe } from "../../server/fallback/wire.js";
import { inspectJpeg } from "../../server/frames/jpeg.js";
import { ackLine } from "../../server/protocol/fallback.js";

export interface ReceivedStripe {
  stripe: Stripe;
  bytes: number;
  at: number;
}

export class FallbackClient {
  readonly texts: Array<Record<string, unknown>> = [];
  readonly stripes: ReceivedStripe[] = [];
  bytes = 0;
  closeCode: number | undefined;
  /** Ack every frame as its first stripe arrives (a viewer that keeps up). */
  autoAck = true;
  private lastAcked = -1;
  /** A simulated slow link (simulateLink): bytes per second, and when it is free again. */
  private linkRate = 0;
  private linkFreeAt = 0;
  private linkAck: { frameId: number; timer: NodeJS.Timeout } | undefined;
  private readonly linkTimers = new Set<NodeJS.Timeout>();
  private readonly ws: WebSocket;
  readonly opened: Promise<void>;

  constructor(url: string, hello: object | null = { type: "hello" }) {
    this.ws = new WebSocket(url);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once("open", () => resolve());
      this.ws.once("error", reject);
    });
    this.ws.on("open", () => {
      if (hello) this.ws.send(JSON.stringify(hello));
    });
    this.ws.on("message", (data, isBinary) => {
      const buf = data as Buffer;
      if (!isBinary) {
        this.texts.push(JSON.parse(buf.toString("utf8")) as Record<string, unknown>);
        return;
      }
      this.bytes += buf.length;
      const stripe = parseStripe(Buffer.from(buf));
      this.stripes.push({ stripe, bytes: buf.length, at: performance.now() });
      if (this.linkRate > 0) {
        this.throughLink(stripe.frameId, buf.length);
      } else if (this.autoAck && stripe.frameId !== this.lastAcked) {
        this.lastAcked = stripe.frameId;
        this.ws.send(ackLine(stripe.frameId));
      }
    });
    this.ws.on("close", (code) => {
      this.closeCode = code;
      for (const t of this.linkTimers) clearTimeout(t);
      this.linkTimers.clear();
    });
    this.ws.on("error", () => {});
  }

  /** Text messages of one type. */
  of(type: string): Array<Record<string, unknown>> {
    return this.texts.filter((t) => t.type === type);
  }

  /** Stripes grouped by frame id, in arrival order. */
  frames(): Stripe[][] {
    const out: Stripe[][] = [];
    let current: Stripe[] | undefined;
    for (const { stripe } of this.stripes) {
      if (!current || current[0].frameId !== stripe.frameId) out.push((current = []));
      current.push(stripe);
    }
    return out;
  }

  send(text: string): void {
    this.ws.send(text);
  }

  sendBinary(data: Buffer): void {
    this.ws.send(data);
  }

  ack(frameId: number): void {
    this.ws.send(ackLine(frameId));
  }

  /**
   * Acks as a viewer behind a link of `bytesPerSecond` would: each frame
   * once its last stripe would have crossed the link, queued behind the
   * frames before it.
   */
  simulateLink(bytesPerSecond: number): void {
    this.linkRate = bytesPerSecond;
  }

  private throughLink(frameId: number, bytes: number): void {
    const now = performance.now();
    this.linkFreeAt = Math.max(now, this.linkFreeAt) + (bytes * 1000) / this.linkRate;
    // Another stripe of the frame waiting: its ack moves to this one's delivery.
    if (this.linkAck?.frameId === frameId) {
      clearTimeout(this.linkAck.timer);
      this.linkTimers.delete(this.linkAck.timer);
    }
    const timer = setTimeout(() => {
      this.linkTimers.delete(timer);
      if (this.ws.readyState === WebSocket.OPEN) this.ws.send(ackLine(frameId));
    }, this.linkFreeAt - now);
    this.linkTimers.add(timer);
    this.linkAck = { frameId, timer };
  }

  close(): void {
    this.ws.close();
  }
}

/** Width and height of a whole JPEG (SOI … EOI with a frame header); undefined otherwise. */
export function jpegSize(jpeg: Buffer): { width: number; height: number } | undefined {
  const v = inspectJpeg(jpeg);
  return v.ok ? { width: v.width, height: v.height } : undefined;
}

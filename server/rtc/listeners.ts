import type { Logger } from "../log.js";
import { listenersChanged } from "./census.js";

/** werift's Event.subscribe result. */
interface Subscription {
  unSubscribe: () => void;
}
/** A werift Event we can subscribe to. */
interface Subscribable<A extends unknown[]> {
  subscribe(fn: (...args: A) => unknown): Subscription;
}

/**
 * Keeps werift subscriptions and closes them together. werift's emitter does
 * not catch listener exceptions, so every listener here is wrapped: a throw
 * is logged and never reaches werift.
 */
export class Listeners {
  private readonly unsubscribes: Array<() => void> = [];
  private cleared = false;

  constructor(private readonly log: Logger) {}

  /**
   * Subscribes `fn` to `event`, catching sync throws and async rejections.
   * Once `clear` has run (its owner closed), nothing: a subscription made
   * then, from a werift event or an answer still on its way, would never be
   * dropped.
   */
  on<A extends unknown[]>(event: Subscribable<A>, fn: (...args: A) => unknown): void {
    if (this.cleared) return;
    const { unSubscribe } = event.subscribe((...args: A) => {
      try {
        const result = fn(...args);
        if (result instanceof Promise) result.catch((err: unknown) => this.log.warn("listener rejected", { err }));
      } catch (err) {
        this.log.warn("listener threw", { err });
      }
    });
    this.unsubscribes.push(unSubscribe);
    listenersChanged(1);
  }

  /** Drops every subscription, and takes no more. */
  clear(): void {
    this.cleared = true;
    const dropped = this.unsubscribes.splice(0);
    listenersChanged(-dropped.length);
    for (const u of dropped) {
      try {
        u();
      } catch {
        // werift's unsubscribe of an already-finished event may throw; nothing to undo.
      }
    }
  }
}

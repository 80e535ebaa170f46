import { EventEmitter } from "node:events";
import { errorStack } from "./rtc/errors.js";

/** The listener signature of an event map's entry. */
type Listener<Args extends unknown[]> = (...args: Args) => void;

/**
 * A typed EventEmitter whose `emit` runs every listener even when one
 * throws (mediasoup's safeEmit): the throw is reported as a process warning
 * (code TESSERA_LISTENER_ERROR) and the next listener runs. A device going
 * offline must reach every viewer, whatever one of them does wrong.
 */
export class SafeEmitter<Events extends Record<keyof Events, unknown[]>> extends EventEmitter {
  override on<K extends keyof Events & string>(event: K, listener: Listener<Events[K]>): this {
    return super.on(event, listener as (...args: unknown[]) => void);
  }

  override once<K extends keyof Events & string>(event: K, listener: Listener<Events[K]>): this {
    return super.once(event, listener as (...args: unknown[]) => void);
  }

  override off<K extends keyof Events & string>(event: K, listener: Listener<Events[K]>): this {
    return super.off(event, listener as (...args: unknown[]) => void);
  }

  override removeAllListeners<K extends keyof Events & string>(event?: K): this {
    // EventEmitter counts its arguments: an explicit undefined would remove only the listeners of an event named "undefined".
    return event === undefined ? super.removeAllListeners() : super.removeAllListeners(event);
  }

  override listenerCount<K extends keyof Events & string>(event: K): number {
    return super.listenerCount(event);
  }

  /** Calls every listener of `event` in order; a listener that throws is reported and the rest still run. */
  override emit<K extends keyof Events & string>(event: K, ...args: Events[K]): boolean {
    const listeners = this.rawListeners(event) as ((...a: unknown[]) => void)[];
    for (const listener of listeners) {
      try {
        listener.apply(this, args);
      } catch (err) {
        process.emitWarning(`a '${event}' listener threw: ${errorStack(err)}`, {
          code: "TESSERA_LISTENER_ERROR",
        });
      }
    }
    return listeners.length > 0;
  }
}

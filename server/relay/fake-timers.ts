import type { Timers } from "./keyframe-requester.js";

/** A clock the test moves by hand. */
export function fakeTimers() {
  let now = 0;
  const queue: Array<{ at: number; fn: () => void; id: number }> = [];
  let ids = 0;
  const timers: Timers = {
    now: () => now,
    setTimeout: (fn, ms) => {
      const id = ++ids;
      queue.push({ at: now + ms, fn, id });
      return id;
    },
    clearTimeout: (h) => {
      const i = queue.findIndex((q) => q.id === h);
      if (i >= 0) queue.splice(i, 1);
    },
  };
  const advance = (ms: number) => {
    now += ms;
    queue.sort((a, b) => a.at - b.at);
    while (queue.length && queue[0].at <= now) queue.shift()!.fn();
  };
  return { timers, advance, pending: () => queue.length };
}

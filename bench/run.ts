/**
 * What every bench of peers and servers does around its measurement: a
 * watchdog over the whole run, SIGINT/SIGTERM closing what is open, the
 * report printed (and as JSON when asked), and an exit that cannot hang.
 */
import { exitBounded } from "./exit.js";

/** A bench as runBench drives it. */
export interface Runnable<R> {
  run(): Promise<R>;
  /** Closes everything it opened; safe after a failure, and idempotent. */
  close(): Promise<void>;
}

/** Runs `bench` within `budgetS` seconds, prints its report, closes it, and exits (1 on failure, 130 interrupted). */
export async function runBench<R>(name: string, bench: Runnable<R>, budgetS: number, print: (report: R) => void, json: boolean): Promise<never> {
  const watchdog = setTimeout(() => {
    process.stderr.write(`${name}: gave up after ${budgetS} s\n`);
    void bench.close().finally(() => exitBounded(1));
  }, budgetS * 1000);
  const interrupt = () => void bench.close().finally(() => exitBounded(130));
  process.once("SIGINT", interrupt);
  process.once("SIGTERM", interrupt);
  let code = 0;
  try {
    const report = await bench.run();
    print(report);
    if (json) process.stdout.write(JSON.stringify(report) + "\n");
  } catch (err) {
    process.stderr.write(`${name}: ${(err as Error).stack ?? String(err)}\n`);
    code = 1;
  } finally {
    await bench.close();
    clearTimeout(watchdog);
  }
  // werift keeps an ICE consent timer for ~30 s after close: do not wait for it.
  return exitBounded(code);
}

/** Runs `fn`, giving up after `ms` so a hung close cannot keep the bench alive; a failure is reported, not thrown. */
export async function bounded(what: string, ms: number, fn: () => Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([fn(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms)))]);
  } catch (err) {
    process.stderr.write(`[bench] ${what}: ${(err as Error).message ?? String(err)}\n`);
  } finally {
    clearTimeout(timer);
  }
}

/** An integer option of a bench (`--name raw`) within [min, max]; a TypeError naming it otherwise. */
export function intArg(name: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new TypeError(`--${name}: expected an integer ${min}..${max}, got ${raw}`);
  return n;
}

/**
 * Pages that carry the time-stamped picture (e2e/pages/stamp.ts): a device
 * page publishing it as its camera, a viewer page or a direct pair reading
 * it back. Shared by bench:latency and its e2e check.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { DESKTOP, devicePublishing, type Env } from "../e2e/harness.js";
import type { StampApi } from "../e2e/stamp-api.js";

const STAMP_SCRIPT = fileURLToPath(new URL("../e2e-pages/stamp.js", import.meta.url));

let source: string | undefined;
/** The bundled page script (scripts/build.mjs makes it). */
export const stampScript = (): string => (source ??= readFileSync(STAMP_SCRIPT, "utf8"));

/** Calls `window.tesseraStamp[method](...args)` in `page`. */
export const callStamp = <K extends keyof StampApi>(page: Page, method: K, ...args: Parameters<StampApi[K]>) =>
  page.evaluate(([m, a]) => (globalThis as unknown as { tesseraStamp: Record<string, (...x: unknown[]) => unknown> }).tesseraStamp[m](...a), [method, args] as [
    string,
    unknown[],
  ]) as Promise<Awaited<ReturnType<StampApi[K]>>>;

/** Init scripts that read the stamp off `selector` (a <video> or <canvas>) from a page's first frame on. */
export const stampWatcher = (selector: string): string[] => [stampScript(), `tesseraStamp.watch(${JSON.stringify(selector)})`];

/** Starts reading the stamp off `selector` (a <video> or <canvas>) in an open page. */
export async function watchStamps(page: Page, selector: string): Promise<void> {
  await page.evaluate(stampScript());
  await callStamp(page, "watch", selector);
}

/** The device page publishing the stamped canvas (width × height) as its camera under `id`, in a context of its own. */
export async function openStampPublisher(env: Env, id: string, width: number, height: number): Promise<{ page: Page; close(): Promise<void> }> {
  const context = await env.browser.newContext(DESKTOP);
  try {
    const page = await context.newPage();
    await page.addInitScript({ content: stampScript() });
    await page.addInitScript(([w, h]) => (globalThis as unknown as { tesseraStamp: StampApi }).tesseraStamp.replaceCamera(w, h), [width, height]);
    const params = new URLSearchParams({ id, name: "Stamped canvas", source: "camera", autostart: "1", simulcast: "0", size: `${width}x${height}` });
    await page.goto(`${env.server.url}device.html?${params.toString()}`);
    await devicePublishing(page);
    return { page, close: () => context.close() };
  } catch (err) {
    await context.close();
    throw err;
  }
}

/**
 * The stamped canvas sent from one page straight to another (two contexts,
 * so two renderer processes as for a device page and a viewer page), VP8,
 * no server between; the receiving page watches it.
 */
export async function openDirectPair(browser: Browser, width: number, height: number): Promise<{ receiver: Page; close(): Promise<void> }> {
  const contexts: BrowserContext[] = [];
  const close = () => Promise.all(contexts.map((c) => c.close())).then(() => undefined);
  try {
    for (let i = 0; i < 2; i++) contexts.push(await browser.newContext(DESKTOP));
    const [sender, receiver] = await Promise.all(contexts.map((c) => c.newPage()));
    await Promise.all([sender.evaluate(stampScript()), receiver.evaluate(stampScript())]);
    const offer = await callStamp(sender, "offer", width, height);
    await callStamp(sender, "accept", await callStamp(receiver, "answer", offer));
    return { receiver, close };
  } catch (err) {
    await close();
    throw err;
  }
}

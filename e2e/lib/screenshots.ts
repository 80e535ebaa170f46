/**
 * Pictures of the viewer's main states, taken by the e2e tests as they pass
 * through them. Every run writes them to dist/screenshots/ (not committed);
 * with TESSERA_SCREENSHOTS=docs they go to docs/screenshots/ instead, the
 * small JPEGs README shows (`TESSERA_SCREENSHOTS=docs npm test` refreshes them).
 */
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";

/** The repository's root (this file runs from dist/e2e/lib/). */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

/** Where screenshots go on this run. */
export function screenshotDir(): string {
  return process.env.TESSERA_SCREENSHOTS === "docs" ? join(ROOT, "docs", "screenshots") : join(ROOT, "dist", "screenshots");
}

/** Saves what `page` shows as `name`.jpg (quality 70: a few tens of KB). */
export async function screenshot(page: Page, name: string): Promise<string> {
  const dir = screenshotDir();
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.jpg`);
  await page.screenshot({ path, type: "jpeg", quality: 70 });
  return path;
}

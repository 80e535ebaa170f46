/**
 * The desktop clipboard both ways, as a controlling viewer page sees it:
 * text and a PNG larger than one data-channel message, pasted on the player
 * and read back with `xclip`, then copied on the display with `xclip` and
 * shown under the player. Shared by the host-mode and agent tests.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import type { Page } from "playwright-core";
import { waitFor } from "../harness.js";
import { noisyPng } from "./png-fixture.js";

/** `page` must control the desktop on display `env.DISPLAY`. */
export async function clipboardBothWays(page: Page, env: NodeJS.ProcessEnv): Promise<void> {
  const xclipOut = (target?: string) =>
    spawnSync("xclip", ["-o", "-selection", "clipboard", ...(target ? ["-target", target] : [])], { env, timeout: 2000 }).stdout as Buffer | null;
  // xclip stays in the background owning the selection until someone else takes it: -loops 1 ends it after one answer.
  const own = (content: Buffer | string, target?: string) => {
    const owner = spawn("xclip", ["-i", "-selection", "clipboard", "-loops", "1", ...(target ? ["-target", target] : [])], {
      env,
      stdio: ["pipe", "ignore", "ignore"],
    });
    owner.stdin.end(content);
    return owner;
  };

  const text = "héllo from the viewer";
  await page.evaluate(
    (line) => (globalThis as unknown as { tessera: { input: { send(l: string): void } } }).tessera.input.send(line),
    `cw,${Buffer.from(text).toString("base64")}`,
  );
  await waitFor("the display's clipboard to hold the paste", () => xclipOut()?.toString("utf8") === text);
  const copied = "copied on the desktop";
  const owner = own(copied);
  try {
    await waitFor("the viewer to show the display's clipboard", async () => (await page.textContent("#device-clipboard-text"))?.includes(copied));
  } finally {
    owner.kill("SIGKILL");
  }

  // A picture, larger than one message: pasted on the picture, it becomes the display's image/png.
  const pasted = noisyPng(180, 120);
  await page.click("#video");
  // A paste event as the browser sends one for a copied picture (the test has no DOM types: the page runs it as text).
  await page.evaluate(`(() => {
    const file = new File([Uint8Array.from(atob("${pasted.toString("base64")}"), (c) => c.charCodeAt(0))], "pasted.png", { type: "image/png" });
    const data = new DataTransfer();
    data.items.add(file);
    document.activeElement.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));
  })()`);
  await waitFor("the display's clipboard to hold the pasted picture", () => xclipOut("image/png")?.equals(pasted));

  // A picture copied on the display shows under the player, at its size.
  const imageOwner = own(noisyPng(150, 110), "image/png");
  try {
    const size = await waitFor("the viewer to show the display's picture", () =>
      page.evaluate<number[] | undefined>(`(() => {
        const img = document.querySelector("#device-clipboard-image");
        return img && !img.hidden && img.complete && img.naturalWidth > 0 ? [img.naturalWidth, img.naturalHeight] : undefined;
      })()`),
    );
    assert.deepEqual(size, [150, 110]);
    assert.equal(await page.isHidden("#device-clipboard-text"), true, "the old text is gone");
  } finally {
    imageOwner.kill("SIGKILL");
  }
}

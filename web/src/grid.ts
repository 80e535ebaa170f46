/**
 * The dashboard (`/grid.html`, opened by `--display`): every device of the
 * account in a grid, each showing its latest frame (`frame.jpg`) once a
 * second. Click one to watch it live. A tile without a picture yet shows
 * what it waits for ("Offline", "No picture yet") instead of an image.
 *
 * Test hooks: `.tile[data-device-id][data-online]`, `data-frames` (pictures
 * shown so far), `data-picture` ("none" | "shown"), `data-errors` (frame
 * requests the server failed), `.tile-placeholder`.
 */
import type { DeviceInfo } from "../../server/protocol/messages.js";
import { byId } from "./dom.js";
import { pageSession } from "./page-session.js";

const REFRESH_MS = 1000;
const grid = byId("grid");
const session = pageSession();
interface Tile {
  root: HTMLAnchorElement;
  img: HTMLImageElement;
  placeholder: HTMLElement;
  label: HTMLElement;
  etag: string | null;
  url: string | null;
}
const tiles = new Map<string, Tile>();

function tileFor(d: DeviceInfo) {
  let t = tiles.get(d.id);
  if (!t) {
    const root = document.createElement("a");
    root.className = "tile";
    root.href = `/?device=${encodeURIComponent(d.id)}`;
    root.dataset.deviceId = d.id;
    const img = document.createElement("img");
    img.alt = `Latest picture of ${d.name}`;
    img.hidden = true;
    const placeholder = document.createElement("span");
    placeholder.className = "tile-placeholder";
    const label = document.createElement("span");
    root.append(img, placeholder, label);
    root.dataset.picture = "none";
    const tile: Tile = { root, img, placeholder, label, etag: null, url: null };
    // A picture that does not decode is not shown broken: the placeholder stays.
    img.addEventListener("error", () => showPicture(tile, false));
    t = tile;
    tiles.set(d.id, t);
  }
  t.label.textContent = `${d.name}${d.online ? "" : " (offline)"}`;
  t.root.dataset.online = String(d.online);
  t.placeholder.textContent = d.online ? "No picture yet" : "Offline";
  return t;
}

function showPicture(t: Tile, shown: boolean): void {
  t.img.hidden = !shown;
  t.placeholder.hidden = shown;
  t.root.dataset.picture = shown ? "shown" : "none";
}

/** Fetches a device's frame when it changed (ETag) and shows it. */
async function refreshFrame(id: string): Promise<void> {
  const t = tiles.get(id);
  if (!t) return;
  const headers: Record<string, string> = { ...(await session.headers()) };
  if (t.etag) headers["If-None-Match"] = t.etag;
  const res = await fetch(`/api/devices/${encodeURIComponent(id)}/frame.jpg`, { headers, credentials: "same-origin", cache: "no-store" });
  if (res.status >= 500) t.root.dataset.errors = String(Number(t.root.dataset.errors ?? 0) + 1);
  if (res.status !== 200) return;
  t.etag = res.headers.get("ETag");
  const url = URL.createObjectURL(await res.blob());
  if (t.url) URL.revokeObjectURL(t.url);
  t.url = url;
  t.img.src = url;
  showPicture(t, true);
  t.root.dataset.frames = String(Number(t.root.dataset.frames ?? 0) + 1);
}

async function tick(): Promise<void> {
  try {
    const res = await fetch("/api/devices", { headers: await session.headers(), credentials: "same-origin", cache: "no-store" });
    if (!res.ok) throw new Error(`GET /api/devices answered ${res.status}`);
    const { devices } = (await res.json()) as { devices: DeviceInfo[] };
    const shown = devices.map(tileFor);
    for (const [id, t] of tiles) {
      if (!devices.some((d) => d.id === id)) {
        if (t.url) URL.revokeObjectURL(t.url);
        tiles.delete(id);
      }
    }
    grid.replaceChildren(
      ...(shown.length ? shown.map((t) => t.root) : [Object.assign(document.createElement("p"), { className: "empty", textContent: "No devices yet." })]),
    );
    await Promise.all(devices.filter((d) => d.online).map((d) => refreshFrame(d.id).catch(() => undefined)));
  } catch (err) {
    grid.replaceChildren(Object.assign(document.createElement("p"), { className: "empty", textContent: String(err) }));
  } finally {
    window.setTimeout(() => void tick(), REFRESH_MS);
  }
}

void tick();

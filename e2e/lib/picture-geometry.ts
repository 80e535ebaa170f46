/**
 * Where a point of the viewer's picture is on the page: the test computes
 * stream pixels on its own, with the letterboxing of `object-fit: contain`,
 * to check what the app sends.
 */

/**
 * Reads, in the page, what the test needs to compute stream pixels on its
 * own: the video's box, and the stream size coordinates refer to, which is
 * the device's reported resolution when it gave one (a simulcast viewer may
 * receive a smaller layer of the same picture), else the video's own size.
 */
export function viewerGeometry(): { left: number; top: number; width: number; height: number; videoWidth: number; videoHeight: number } {
  const g = globalThis as unknown as { document: { querySelector(s: string): unknown }; tessera?: { resolution?: { width: number; height: number } } };
  const video = g.document.querySelector("#video") as {
    getBoundingClientRect(): { left: number; top: number; width: number; height: number };
    videoWidth: number;
    videoHeight: number;
  };
  const r = video.getBoundingClientRect();
  const size = g.tessera?.resolution ?? { width: video.videoWidth, height: video.videoHeight };
  return { left: r.left, top: r.top, width: r.width, height: r.height, videoWidth: size.width, videoHeight: size.height };
}

/** The client position of the picture point (fx, fy) (fractions of its width and height), and the stream pixel it is. */
export function pictureToClient(g: ReturnType<typeof viewerGeometry>, fx: number, fy: number): { clientX: number; clientY: number; want: [number, number] } {
  const scale = Math.min(g.width / g.videoWidth, g.height / g.videoHeight);
  const offX = (g.width - g.videoWidth * scale) / 2;
  const offY = (g.height - g.videoHeight * scale) / 2;
  const clientX = g.left + offX + fx * g.videoWidth * scale;
  const clientY = g.top + offY + fy * g.videoHeight * scale;
  return { clientX, clientY, want: [(clientX - g.left - offX) / scale, (clientY - g.top - offY) / scale] };
}

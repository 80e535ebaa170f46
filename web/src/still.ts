/**
 * While WebRTC connects, the device's latest picture (`frame.jpg`) stands in
 * as the video's poster, so a viewer opening a device sees it at once rather
 * than a black box. The browser drops the poster by itself at the first
 * decoded frame; the still is forgotten then, and whenever another device
 * (or none) is chosen. `#player[data-still]` is "true" while it shows.
 */
export class StillPicture {
  private url: string | undefined;
  /** Counts requests, so only the latest one's answer is shown. */
  private asked = 0;

  constructor(
    private readonly video: HTMLVideoElement,
    private readonly root: HTMLElement,
    private readonly headers: () => Promise<Record<string, string>>,
  ) {
    video.addEventListener("loadeddata", () => this.clear());
  }

  /** Shows `deviceId`'s latest picture until its video plays (undefined: none). */
  async show(deviceId: string | undefined): Promise<void> {
    const ask = ++this.asked;
    this.clear();
    if (!deviceId) return;
    try {
      const res = await fetch(`/api/devices/${encodeURIComponent(deviceId)}/frame.jpg`, {
        headers: await this.headers(),
        credentials: "same-origin",
        cache: "no-store",
      });
      if (!res.ok || ask !== this.asked) return;
      const picture = await res.blob();
      // Too late: the video plays already (or another device was chosen meanwhile).
      if (ask !== this.asked || this.video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA) return;
      this.url = URL.createObjectURL(picture);
      this.video.poster = this.url;
      this.root.dataset.still = "true";
    } catch (err) {
      console.debug("tessera: no still picture", err);
    }
  }

  private clear(): void {
    if (this.url) URL.revokeObjectURL(this.url);
    this.url = undefined;
    this.video.removeAttribute("poster");
    delete this.root.dataset.still;
  }
}

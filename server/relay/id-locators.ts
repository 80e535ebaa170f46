import type { LocateIds } from "./picture-id-munger.js";
import { locateVp8Ids } from "./vp8.js";
import { locateVp9Ids } from "./vp9.js";

/** Where a codec's payloads carry their picture ID and TL0PICIDX (VP8, VP9), by lower-case MIME type; undefined for any other. */
export function idLocator(mimeType: string): LocateIds | undefined {
  return mimeType === "video/vp8" ? locateVp8Ids : mimeType === "video/vp9" ? locateVp9Ids : undefined;
}

import type { DeviceInfo } from "../../server/protocol/messages.js";

/** Whether `d` has what a row of the list reads. */
export function isDeviceInfo(d: unknown): d is DeviceInfo {
  if (typeof d !== "object" || d === null) return false;
  const o = d as Record<string, unknown>;
  return (
    typeof o.id === "string" &&
    typeof o.name === "string" &&
    typeof o.online === "boolean" &&
    typeof o.viewers === "number" &&
    Array.isArray(o.tracks) &&
    o.tracks.every((t) => typeof t === "object" && t !== null && typeof (t as { codec?: unknown }).codec === "string")
  );
}

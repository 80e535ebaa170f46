import type { RTCDataChannel } from "werift";

/**
 * The most a data channel may hold unsent, bytes (werift's bufferedAmount:
 * what its SCTP association has not put on the wire because the other side
 * has not acknowledged what is in flight). A peer that leaves more there
 * does not read its channel, or its link cannot carry what it is sent, and
 * every message more would only grow the server's memory. 64 of the largest
 * messages either way (MAX_DEVICE_MESSAGE_BYTES, MAX_LINE_BYTES), as much as
 * a signaling socket may leave unread (MAX_UNREAD_BYTES).
 */
export const MAX_CHANNEL_UNSENT_BYTES = 4 * 1024 * 1024;

/** What sendText did: sent (queued), not open, or nothing because the channel is stuck (MAX_CHANNEL_UNSENT_BYTES unsent). */
export type ChannelSend = "sent" | "closed" | "stuck";

/** Sends `text` on `channel` when it is open and not stuck. */
export function sendText(channel: RTCDataChannel, text: string, maxUnsent = MAX_CHANNEL_UNSENT_BYTES): ChannelSend {
  if (channel.readyState !== "open") return "closed";
  if (channel.bufferedAmount > maxUnsent) return "stuck";
  channel.send(text);
  return "sent";
}

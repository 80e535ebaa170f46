import type { Socket } from "node:dgram";
import type { RTCPeerConnection } from "werift";
import type { Logger } from "../log.js";

/**
 * What a device's UDP sockets may queue unread, bytes (the kernel caps it
 * at net.core.rmem_max, and counts each datagram at its buffer's true size,
 * about twice a video packet's). While the event loop fans one frame out to
 * a few hundred viewers (a keyframe to 225 viewers: about 0.2 s of sends),
 * the device's next packets wait in its socket; with Linux's default
 * (rmem_default, 208 KiB here: about 90 datagrams of video) that overflowed,
 * and every viewer lost what the kernel dropped (bench:fanout at 225
 * viewers: 5,173 datagrams in 15 s, 16.7 % loss). Not larger: a server that
 * cannot keep up would only show the picture later, not lose less of it.
 * Memory is taken only while datagrams wait.
 */
export const DEVICE_RECEIVE_BUFFER = 1024 * 1024;

/** The parts of werift's ICE this reads (not in its typings). */
interface IceInternals {
  protocols?: Array<{ transport?: { type?: string; socket?: Socket } }>;
}

/** The UDP sockets under `pc`'s ICE transports. */
function udpSockets(pc: RTCPeerConnection): Set<Socket> {
  const sockets = new Set<Socket>();
  for (const t of pc.getTransceivers()) {
    const connection = t.receiver.dtlsTransport?.iceTransport.connection as IceInternals | undefined;
    for (const p of connection?.protocols ?? []) {
      if (p.transport?.type === "udp" && p.transport.socket) sockets.add(p.transport.socket);
    }
  }
  return sockets;
}

/** Gives the UDP sockets of a connected device's peer connection a receive buffer of `bytes`, or what the kernel allows. */
export function enlargeReceiveBuffers(pc: RTCPeerConnection, log: Logger, bytes = DEVICE_RECEIVE_BUFFER): void {
  for (const socket of udpSockets(pc)) {
    try {
      if (socket.getRecvBufferSize() < bytes) socket.setRecvBufferSize(bytes);
    } catch (err) {
      // A socket closing under us, or a platform that refuses: the default stays.
      log.debug("device receive buffer unchanged", { err });
    }
  }
}

import { routeFeedbackByMedia } from "./feedback-routing.js";
import { AnswererIceRestarts, type LocalIceParameters, type RemoteIceRestart } from "./ice-restart.js";
import { RTCPeerConnection } from "werift";
import { badRequest, unsupported } from "../errors.js";
import type { Logger } from "../log.js";
import type { IceCandidate } from "../protocol/messages.js";
import { DownTrack } from "../relay/down-track.js";
import type { RelayObserver } from "../relay/observer.js";
import type { UpTrack } from "../relay/up-track.js";
import { errorText } from "./errors.js";
import { Listeners } from "./listeners.js";
import { peerConfig, subscribeCodec, type RtcSettings } from "./peer-config.js";
import { CandidateBudget, checkRemoteSdp } from "./limits.js";
import { isMdnsCandidate, withoutMdnsCandidates } from "./mdns.js";
import { localSdpForClients } from "./sdp.js";
import { senderSink } from "./sender-sink.js";
import { peerOpened } from "./census.js";
import { whenPeerKeyed } from "./peer-keyed.js";
import { rejected, whileOpen } from "./while-open.js";

/**
 * A WHEP player's connection (RFC 9725 conventions): the player offers,
 * the server answers with one DownTrack per device track the offer can
 * receive, and keeps feeding them across device reconnects with the same
 * codecs, as a Subscription does.
 */
export class WhepPeer {
  private readonly pc: RTCPeerConnection;
  /** Uncounts the peer connection in the census (rtc/census.ts). */
  private readonly uncount = peerOpened("whep");
  private readonly iceRestarts: AnswererIceRestarts;
  private readonly listeners: Listeners;
  private readonly downs: DownTrack[] = [];
  private _closed = false;
  /** Trickled candidates this player may still add. */
  private readonly candidates = new CandidateBudget();

  constructor(
    private readonly rtc: RtcSettings,
    private readonly tracks: readonly UpTrack[],
    private readonly observer: RelayObserver,
    private readonly log: Logger,
    private readonly onClosed: (reason: string) => void,
  ) {
    const video = tracks.filter((t) => t.kind === "video").map((t) => subscribeCodec(t.codec));
    const audio = tracks.filter((t) => t.kind === "audio").map((t) => subscribeCodec(t.codec));
    this.pc = new RTCPeerConnection(peerConfig(rtc, { video, audio }));
    routeFeedbackByMedia(this.pc);
    this.iceRestarts = new AnswererIceRestarts(this.pc, (sdp) => localSdpForClients(sdp, this.rtc));
    this.listeners = new Listeners(log);
    this.listeners.on(this.pc.connectionStateChange, (state: string) => {
      if (state === "failed" || state === "closed") this.close(`connection ${state}`);
    });
  }

  get closed(): boolean {
    return this._closed;
  }

  /** Answers the player's offer; a section per device track it can receive. */
  async answer(offerSdp: string): Promise<string> {
    checkRemoteSdp(offerSdp, "offer");
    try {
      await whileOpen(this.pc, () => this.pc.setRemoteDescription({ type: "offer", sdp: withoutMdnsCandidates(offerSdp) }));
    } catch (err) {
      throw rejected("offer", err);
    }
    const free = [...this.tracks];
    for (const t of this.pc.getTransceivers()) {
      const i = free.findIndex((up) => up.kind === t.kind && t.codecs.some((c) => c.mimeType.toLowerCase() === up.codec.mimeType));
      // offerDirection is ours as the player proposed it: "sendonly" where the player receives.
      if (i < 0 || (t.offerDirection !== "sendonly" && t.offerDirection !== "sendrecv")) {
        t.setDirection("inactive");
        continue;
      }
      const up = free.splice(i, 1)[0];
      t.setDirection("sendonly");
      const down = new DownTrack(up.codec, senderSink(t.sender, up.kind, this.observer, this.log));
      // Attached once answered, it keeps what comes until the player holds the keys (peer-keyed.ts; the keyframe is on its way meanwhile).
      down.hold();
      this.listeners.on(t.sender.onReady, () =>
        whenPeerKeyed(
          t.sender,
          () => down.release(),
          () => down.leadIn(),
        ),
      );
      this.listeners.on(t.sender.onPictureLossIndication, () => {
        this.observer.keyframeRequestFromViewer("pli");
        down.requestKeyframe();
      });
      this.downs.push(down);
    }
    if (this.downs.length === 0) throw unsupported("the offer receives none of the device's codecs");
    try {
      await whileOpen(this.pc, async () => this.pc.setLocalDescription(await this.pc.createAnswer()));
    } catch (err) {
      throw rejected("offer", err);
    }
    const local = this.pc.localDescription;
    if (!local) throw new Error("no local description");
    this.attach(this.tracks);
    return localSdpForClients(local.sdp, this.rtc);
  }

  /** The device came back: its new tracks feed the same DownTracks when codecs match. */
  attach(tracks: readonly UpTrack[]): void {
    if (this._closed) return;
    for (const down of this.downs) {
      const up = tracks.find((t) => t.kind === down.kind && t.codec.mimeType === down.codec.mimeType && !t.closed);
      if (up) down.setSource(up);
    }
  }

  /** The player's current ICE username fragment, to tell a restart from a trickle. */
  get remoteIceUfrag(): string | undefined {
    return this.iceRestarts.remoteUfrag;
  }

  /** Restarts ICE with the player's new credentials (a WHEP PATCH); the server's new ones come back. */
  async restartIce(restart: RemoteIceRestart): Promise<LocalIceParameters> {
    if (this._closed) throw badRequest("the session is closed");
    this.candidates.take(restart.candidates.length);
    return this.iceRestarts.restart(restart);
  }

  async addCandidate(candidate: IceCandidate): Promise<void> {
    if (this._closed) return;
    this.candidates.take();
    if (isMdnsCandidate(candidate.candidate)) return;
    try {
      await this.pc.addIceCandidate(candidate);
    } catch (err) {
      throw rejected("candidate", err);
    }
    this.iceRestarts.candidateAdded();
  }

  close(reason = "closed"): void {
    if (this._closed) return;
    this._closed = true;
    this.listeners.clear();
    for (const d of this.downs) d.close();
    this.pc.close().catch((err: unknown) => this.log.debug("whep close", { err: errorText(err) }));
    this.uncount();
    this.onClosed(reason);
  }
}

/** Push-to-talk state, for the button and for tests. */
export type TalkState = "off" | "starting" | "talking" | "muted" | "error";

/**
 * Push-to-talk: the microphone on the talk-back sender of the current
 * connection (answered sendonly by Watch, so no renegotiation is needed).
 * The microphone is opened on the first press and then only enabled while
 * the button is held; `stop()` closes it (e.g. when control is lost).
 */
export class PushToTalk {
  private sender: RTCRtpSender | undefined;
  private track: MediaStreamTrack | undefined;
  private opening: Promise<MediaStreamTrack | undefined> | undefined;
  private pressed = false;
  private _state: TalkState = "off";

  constructor(private readonly onState: (state: TalkState, detail?: string) => void) {}

  get state(): TalkState {
    return this._state;
  }

  /** The microphone track while it is open. */
  get microphone(): MediaStreamTrack | undefined {
    return this.track;
  }

  /** The current connection's talk-back sender (undefined when the connection went). */
  setSender(sender: RTCRtpSender | undefined): void {
    this.sender = sender;
    if (sender && this.track) this.attach(sender, this.track);
  }

  /** The button went down: open the microphone if needed, and let it through. */
  async press(): Promise<void> {
    this.pressed = true;
    if (!this.track) this.setState("starting");
    const track = await this.open();
    if (!track) return;
    track.enabled = this.pressed;
    this.setState(this.pressed ? "talking" : "muted");
  }

  /** The button came up: silence the microphone (it stays open for the next press). */
  release(): void {
    this.pressed = false;
    if (this.track) {
      this.track.enabled = false;
      this.setState("muted");
    }
  }

  /** Closes the microphone and takes it off the connection; idempotent. */
  stop(): void {
    this.pressed = false;
    this.opening = undefined;
    const track = this.track;
    this.track = undefined;
    if (track) {
      track.stop();
      this.sender?.replaceTrack(null).catch(() => undefined);
    }
    if (this._state !== "off") this.setState("off");
  }

  private open(): Promise<MediaStreamTrack | undefined> {
    if (this.track) return Promise.resolve(this.track);
    const opening = (this.opening ??= navigator.mediaDevices.getUserMedia({ audio: true, video: false }).then(
      (stream) => {
        const track = stream.getAudioTracks()[0];
        if (this.opening !== opening) {
          // stop() ran while the permission prompt was up.
          for (const t of stream.getTracks()) t.stop();
          return undefined;
        }
        this.opening = undefined;
        this.track = track;
        track.enabled = false;
        if (this.sender) this.attach(this.sender, track);
        return track;
      },
      (err: unknown) => {
        this.opening = undefined;
        this.setState("error", err instanceof Error ? err.message : String(err));
        return undefined;
      },
    ));
    return opening;
  }

  private attach(sender: RTCRtpSender, track: MediaStreamTrack): void {
    if (sender.track === track) return;
    sender.replaceTrack(track).catch((err: unknown) => this.setState("error", err instanceof Error ? err.message : String(err)));
  }

  private setState(state: TalkState, detail?: string): void {
    this._state = state;
    this.onState(state, detail);
  }
}

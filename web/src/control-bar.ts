import { byId } from "./dom.js";
import { LockedPointer } from "./locked-pointer.js";
import type { TalkState } from "./talk.js";

/** Who controls the watched device, from this viewer's point of view. */
export type ControlView = { kind: "unknown" } | { kind: "none" } | { kind: "self" } | { kind: "other"; holder: string; name?: string };

/** What the bar's buttons ask for. */
export interface ControlBarEvents {
  toggle(): void;
  talk(down: boolean): void;
  /** An input line asking the device for a frame rate (`_arg_fps,N`) or a bitrate (`vb,KBPS`). */
  settings(line: string): void;
  /** The holder's answer to another viewer's ask: hand control over, or keep it. */
  answer(to: string, handOver: boolean): void;
  /** Lock the pointer to the picture (relative moves). */
  lockPointer(): void;
}

/** A viewer as people see it: the name it gave itself, else "Viewer 1a2b3c" from its peer id. */
export function viewerLabel(peerId: string, name?: string): string {
  return name ?? `Viewer ${peerId.replace(/-/g, "").slice(0, 6)}`;
}

/**
 * The control bar under the player: who holds control, Take control /
 * Release (or Ask for control, which the holder may grant: Hand over / Keep
 * control), push-to-talk, the frame rate and bitrate the controller asks the
 * device for (a desktop holds them to its limits), and how to get out. Mirrors the state on `#player`
 * as `data-control` ("unknown" | "none" | "self" | "other") and
 * `data-control-holder` (the holder's peer id) for tests.
 */
export class ControlBar {
  private readonly root = byId("control");
  private readonly player = byId("player");
  private readonly status = byId("control-status");
  private readonly hint = byId("control-hint");
  private readonly toggle = byId<HTMLButtonElement>("control-toggle");
  private readonly talk = byId<HTMLButtonElement>("talk");
  private readonly note = byId("control-note");
  private readonly quality = byId("quality");
  private readonly fps = byId<HTMLSelectElement>("quality-fps");
  private readonly bitrate = byId<HTMLSelectElement>("quality-bitrate");
  private readonly ask = byId("control-ask");
  private readonly pointerLock = byId<HTMLButtonElement>("pointer-lock");
  private readonly askText = byId("control-ask-text");
  /** The viewer whose ask is shown to this holder. */
  private asker: string | undefined;
  private view: ControlView = { kind: "unknown" };
  /** Whether talk-back can work on this connection (WebRTC with a talk-back sender; not the WebSocket stream). */
  private canTalk = false;
  /** Why control cannot work now (the server or the device is gone), or undefined. */
  private lost: string | undefined;
  private pending = false;
  /** The talk button is held down. */
  private held = false;

  constructor(events: ControlBarEvents) {
    this.toggle.addEventListener("click", () => events.toggle());
    // Held with a pointer or with Space/Enter; any way of letting go ends the talk.
    const down = (e: Event) => {
      e.preventDefault();
      if (this.held) return;
      this.held = true;
      events.talk(true);
    };
    const up = () => {
      if (!this.held) return;
      this.held = false;
      events.talk(false);
    };
    this.talk.addEventListener("pointerdown", (e) => {
      this.talk.setPointerCapture(e.pointerId);
      down(e);
    });
    for (const type of ["pointerup", "pointercancel", "lostpointercapture", "blur"]) this.talk.addEventListener(type, up);
    this.talk.addEventListener("keydown", (e) => (e.key === " " || e.key === "Enter") && !e.repeat && down(e));
    this.talk.addEventListener("keyup", (e) => (e.key === " " || e.key === "Enter") && up());
    this.talk.addEventListener("contextmenu", (e) => e.preventDefault());
    this.fps.addEventListener("change", () => this.fps.value && events.settings(`_arg_fps,${this.fps.value}`));
    this.bitrate.addEventListener("change", () => this.bitrate.value && events.settings(`vb,${this.bitrate.value}`));
    const answer = (handOver: boolean) => {
      const to = this.asker;
      this.showAsk(undefined);
      if (to) events.answer(to, handOver);
    };
    byId("control-hand-over").addEventListener("click", () => answer(true));
    this.pointerLock.addEventListener("click", () => events.lockPointer());
    byId("control-keep").addEventListener("click", () => answer(false));
    this.render();
  }

  /** Shows the bar for a watched device, or hides it. */
  setVisible(visible: boolean): void {
    this.root.hidden = !visible;
  }

  /** The holder changed (or became known). Control that begins starts from the device's own frame rate and bitrate. */
  setControl(view: ControlView): void {
    if (view.kind === "self" && this.view.kind !== "self") this.fps.selectedIndex = this.bitrate.selectedIndex = 0;
    this.view = view;
    this.pending = false;
    this.note.textContent = "";
    this.render();
  }

  /** False while the server or the device is gone. */
  get reachable(): boolean {
    return this.lost === undefined;
  }

  /** The server or the device is gone (`why`, in words), or back (undefined): control greys out meanwhile. */
  setLost(why: string | undefined): void {
    if (why === this.lost) return;
    this.lost = why;
    this.render();
  }

  /** Shows another viewer's ask for control to this holder (the latest one), or hides it. */
  showAsk(from: string | undefined, name?: string): void {
    this.asker = from;
    this.ask.hidden = from === undefined;
    this.askText.textContent = from === undefined ? "" : `${viewerLabel(from, name)} asks for control.`;
  }

  /** A request or release is on its way; the button waits for the server's answer. */
  setPending(): void {
    this.pending = true;
    this.render();
  }

  /** A short message next to the buttons, e.g. why a request was refused. */
  setNote(text: string): void {
    this.pending = false;
    this.note.textContent = text;
    this.render();
  }

  /** Talk-back works on this connection (a sender for it), or not (the WebSocket stream carries no voice): the button shows only when it does. */
  setTalkAvailable(on: boolean): void {
    if (on === this.canTalk) return;
    this.canTalk = on;
    this.render();
  }

  /** Shows the push-to-talk state. */
  setTalk(state: TalkState, detail?: string): void {
    if (state === "off" || state === "error") this.held = false;
    const on = state === "talking" || state === "starting";
    this.talk.setAttribute("aria-pressed", String(on));
    this.talk.dataset.state = state;
    this.talk.textContent = state === "talking" ? "Talking…" : state === "starting" ? "Opening microphone…" : "Hold to talk";
    this.talk.title = state === "error" ? `Microphone unavailable: ${detail ?? ""}` : "Hold to speak to the device";
  }

  private render(): void {
    const v = this.view;
    const lost = this.lost;
    this.player.dataset.control = v.kind;
    if (v.kind === "other") this.player.dataset.controlHolder = v.holder;
    else delete this.player.dataset.controlHolder;
    this.root.dataset.control = v.kind;
    this.root.dataset.reachable = String(lost === undefined);
    const who =
      v.kind === "self"
        ? "You control this device"
        : v.kind === "other"
          ? `${viewerLabel(v.holder, v.name)} controls`
          : v.kind === "none"
            ? "Nobody controls"
            : "…";
    // Never "You control this device" while nothing reaches it.
    this.status.textContent = lost ?? who;
    this.hint.hidden = v.kind !== "self" || lost !== undefined;
    this.talk.hidden = v.kind !== "self" || lost !== undefined || !this.canTalk;
    this.quality.hidden = v.kind !== "self" || lost !== undefined;
    // Relative mouse for games and 3D: a mouse's option, not a finger's.
    this.pointerLock.hidden = v.kind !== "self" || lost !== undefined || document.body.dataset.touch === "true" || !LockedPointer.supported;
    this.toggle.textContent = v.kind === "self" ? "Release" : v.kind === "other" ? "Ask for control" : "Take control";
    this.toggle.classList.toggle("primary", v.kind !== "self");
    // Held by someone else: asking is how to get it; the button says why when it cannot.
    this.toggle.disabled = this.pending || lost !== undefined || v.kind === "unknown";
    this.toggle.title =
      lost !== undefined
        ? lost
        : v.kind === "other"
          ? `${viewerLabel(v.holder, v.name)} controls this device: ask them to hand it over`
          : this.pending
            ? "Waiting for the server"
            : "";
  }
}

import { byId } from "./dom.js";

/** The demo device's state, as sent in `{"type":"state", ...}`. */
export interface DemoState {
  leds: boolean[];
  /** Charge, 0..1. */
  battery: number;
}

/**
 * The device page's demo state controls: two LED toggles and a battery
 * slider. Every change is reported; the page sends it to viewers.
 */
export class DemoStateControls {
  private readonly leds = [byId<HTMLInputElement>("led-1"), byId<HTMLInputElement>("led-2")];
  private readonly battery = byId<HTMLInputElement>("battery");
  private readonly batteryText = byId("battery-value");

  constructor(onChange: (state: DemoState) => void) {
    for (const input of [...this.leds, this.battery]) {
      input.addEventListener("input", () => {
        this.render();
        onChange(this.state);
      });
    }
    this.render();
  }

  get state(): DemoState {
    return { leds: this.leds.map((l) => l.checked), battery: Number(this.battery.value) / 100 };
  }

  private render(): void {
    this.batteryText.textContent = `${this.battery.value}%`;
  }
}

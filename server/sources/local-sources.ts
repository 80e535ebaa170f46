import { chooseDesktopEncoder, DESKTOP_CAPTURE_DEFAULTS } from "../../pipelines/desktop.js";
import type { Config } from "../config.js";
import type { DeviceRegistry } from "../devices/registry.js";
import { HostDevice } from "../host/host-device.js";
import type { Logger } from "../log.js";
import type { RelayObserver } from "../relay/observer.js";
import { availableElements } from "../setup/preflight.js";
import { TestDevice } from "./test-device.js";

/** The test picture of `--source-motion still`: a flat screen whose only motion is a clock ticking once a second. */
export const STILL_PICTURE = { pattern: "solid-color foreground-color=0xff336699", runningTime: false } as const;

type SourceConfig = Pick<
  Config,
  "source" | "sourceCodec" | "sourceMotion" | "sourceSimulcast" | "sourceEncoder" | "sourceFps" | "sourceBitrate" | "allowInput" | "allowResize" | "audio"
>;

/**
 * The server's own devices (`--source`): the test device, the displays and
 * the cameras of this host, published into the relay for one account.
 */
export class LocalSources {
  private readonly test: TestDevice | undefined;
  private readonly hosts: HostDevice[] = [];

  constructor(config: SourceConfig, registry: DeviceRegistry, account: string, observer: RelayObserver, log: Logger) {
    const captured = config.source.filter((s) => s.kind === "x11" || s.kind === "v4l2");
    if (config.source.some((s) => s.kind === "test")) {
      const device = registry.ensure(account, "test", "Test pattern", "test");
      this.test = new TestDevice(device, observer, log.child("test-device"), {
        codec: config.sourceCodec,
        simulcast: config.sourceSimulcast === "on",
        ...(config.sourceMotion === "still" ? STILL_PICTURE : {}),
      });
      this.test.start();
    }
    if (captured.length === 0) return;
    const found = config.sourceCodec === "h264" && config.sourceEncoder === "auto" ? availableElements() : { elements: new Set<string>() };
    const encoder = chooseDesktopEncoder(config.sourceCodec, config.sourceEncoder, "elements" in found ? found.elements : new Set());
    for (const source of captured) {
      const where =
        source.kind === "v4l2"
          ? { camera: source.camera, display: "", name: `Camera ${source.camera}`, kind: "camera" as const, scope: source.camera }
          : { camera: undefined, display: source.display, name: `Display ${source.display}`, kind: "screen" as const, scope: `host ${source.display}` };
      const device = registry.ensure(account, source.deviceId, where.name, where.kind);
      const host = new HostDevice(device, {
        capture: {
          ...DESKTOP_CAPTURE_DEFAULTS,
          display: where.display,
          camera: where.camera,
          encoder,
          fps: config.sourceFps,
          bitrateKbps: config.sourceBitrate,
        },
        limits: { maxFps: config.sourceFps, maxBitrateKbps: config.sourceBitrate },
        allowInput: config.allowInput,
        allowResize: config.allowResize,
        // Sound is the desktop's; a camera's microphone is not captured.
        audio: config.audio === "pulse" && !where.camera,
        observer,
        log: log.child(where.scope),
        simulcast: config.sourceSimulcast === "on",
      });
      host.start();
      this.hosts.push(host);
    }
  }

  /** Why the server is not ready yet: the test device's pipeline has not started. */
  notReady(registry: DeviceRegistry, account: string): string | undefined {
    if (this.test && !registry.get(account, "test")?.online) return "the test device's pipeline is not running";
    return undefined;
  }

  close(): void {
    this.test?.close("server shutting down");
    for (const h of this.hosts) h.close("server shutting down");
  }
}

/** The real Firebase Auth emulator (npm firebase-tools) on free loopback ports, offline. */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { waitForAsync } from "./signaling-client.js";
import { freePort } from "./ports.js";

const FIREBASE = fileURLToPath(new URL("../../../node_modules/.bin/firebase", import.meta.url));

/** A running Auth emulator for one demo project. */
export class FirebaseAuthEmulator {
  private log = "";

  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    /** host:port, the value of FIREBASE_AUTH_EMULATOR_HOST. */
    readonly host: string,
    readonly projectId: string,
  ) {
    child.stdout?.on("data", (d) => (this.log = (this.log + d).slice(-8000)));
    child.stderr?.on("data", (d) => (this.log = (this.log + d).slice(-8000)));
  }

  /**
   * Starts `firebase emulators:start --only auth` with a firebase.json that
   * turns the UI off and gives the auth, hub and logging emulators free
   * ports; resolves once the auth emulator answers (bounded polling).
   */
  static async start(projectId = "demo-tessera", timeoutMs = 60_000): Promise<FirebaseAuthEmulator> {
    const dir = mkdtempSync(join(tmpdir(), "tessera-firebase-"));
    const [auth, hub, logging] = [await freePort(), await freePort(), await freePort()];
    const host = "127.0.0.1";
    writeFileSync(
      join(dir, "firebase.json"),
      JSON.stringify({
        emulators: { auth: { host, port: auth }, hub: { host, port: hub }, logging: { host, port: logging }, ui: { enabled: false }, singleProjectMode: true },
      }),
    );
    // Its own process group, so stop() ends it and anything it started; HOME in the temp dir keeps its config out of the user's.
    const child = spawn(FIREBASE, ["emulators:start", "--only", "auth", "--project", projectId], {
      cwd: dir,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, HOME: dir, FIREBASE_CLI_DISABLE_UPDATE_CHECK: "true", CI: "true" },
    });
    const emulator = new FirebaseAuthEmulator(child, dir, `${host}:${auth}`, projectId);
    try {
      await waitForAsync(
        async () => {
          if (child.exitCode !== null) throw new Error(`the emulator exited (${child.exitCode}): ${emulator.log}`);
          return fetch(`http://${host}:${auth}/`).then(
            (r) => r.ok,
            () => false,
          );
        },
        timeoutMs,
        "the Firebase Auth emulator",
      );
    } catch (err) {
      await emulator.stop();
      throw err;
    }
    return emulator;
  }

  /** Creates a user with e-mail and password; returns its uid and a fresh ID token. */
  async signUp(email: string, password = "password-123"): Promise<{ uid: string; idToken: string }> {
    const res = await fetch(`http://${this.host}/identitytoolkit.googleapis.com/v1/accounts:signUp?key=any`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password, returnSecureToken: true }),
    });
    if (!res.ok) throw new Error(`signUp ${email}: ${res.status} ${await res.text()}`);
    const body = (await res.json()) as { localId: string; idToken: string };
    return { uid: body.localId, idToken: body.idToken };
  }

  /** Stops the emulator's process group and removes its directory. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.pid !== undefined) {
      const exited = new Promise((r) => this.child.once("exit", r));
      try {
        process.kill(-this.child.pid, "SIGTERM");
      } catch {
        // already gone
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-this.child.pid!, "SIGKILL");
        } catch {
          // already gone
        }
      }, 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

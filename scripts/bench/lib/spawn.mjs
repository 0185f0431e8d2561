// Starts servers under test as real child processes and waits for the line
// they print once ready: `runtimeuse listening on ws://HOST:PORT` for the
// runtime CLI, `baseline listening on ws://HOST:PORT` for the bare baseline.
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { cpuMs } from "./proc.mjs";

export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const RUNTIME_BIN = join(REPO_ROOT, "packages/runtimeuse/bin/runtimeuse.js");
export const BASELINE_SERVER = fileURLToPath(new URL("./baseline-server.mjs", import.meta.url));
export const HANDLERS_DIR = fileURLToPath(new URL("../handlers/", import.meta.url));

const LISTENING = /listening on (ws:\/\/\S+)/;
const DEFAULT_READY_TIMEOUT_MS = 15_000;
const DEFAULT_STOP_TIMEOUT_MS = 15_000;
const STDERR_TAIL_BYTES = 4096;

/** Fails with a clear message when the packages were not built (the bench builds nothing). */
export function assertBuilt() {
  for (const built of ["packages/runtimeuse/dist/cli/main.js", "packages/runtimeuse/dist/bundle/cli.js"]) {
    const path = join(REPO_ROOT, built);
    if (!existsSync(path)) {
      throw new Error(`${path} is missing: run \`npm ci\` first (its prepare step builds the packages)`);
    }
  }
}

/**
 * Spawns `node [nodeArgs] script [args]` and resolves once it prints a
 * `... listening on ws://...` line on stdout. `startupMs` is the time from
 * just before `spawn()` to that line; `startupCpuMs` the CPU time the child
 * had used by then (less sensitive to a busy machine than wall time). stderr goes to a temporary file (so a
 * chatty server never blocks on a full pipe, and the bench process does not
 * pay for reading it); `stderrTail()` shows its end for diagnostics.
 */
export async function spawnListening({ script, args = [], nodeArgs = [], env, cwd = REPO_ROOT, readyTimeoutMs }) {
  const logDir = mkdtempSync(join(tmpdir(), "runtimeuse-bench-"));
  const stderrPath = join(logDir, "stderr.log");
  const stderrFd = openSync(stderrPath, "w");
  const started = performance.now();
  const child = spawn(process.execPath, [...nodeArgs, script, ...args], {
    cwd,
    env: env ?? process.env,
    stdio: ["ignore", "pipe", stderrFd],
  });
  closeSync(stderrFd);
  const stderrTail = () => {
    try {
      const text = readFileSync(stderrPath, "utf8");
      return text.slice(-STDERR_TAIL_BYTES);
    } catch {
      return "";
    }
  };
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));

  let url;
  let startupMs;
  let startupCpuMs;
  try {
    ({ url, startupMs, startupCpuMs } = await new Promise((resolve, reject) => {
      let out = "";
      const timer = setTimeout(
        () =>
          reject(
            new Error(`${script} did not print "listening on" within ${readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS} ms`),
          ),
        readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
      );
      child.stdout.on("data", (chunk) => {
        if (url !== undefined) return;
        out += chunk;
        const match = LISTENING.exec(out);
        if (match?.[1]) {
          clearTimeout(timer);
          resolve({ url: match[1], startupMs: performance.now() - started, startupCpuMs: cpuMs(child.pid) });
        } else if (out.length > 64 * 1024) out = out.slice(-1024);
      });
      exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`${script} exited (code ${code}, signal ${signal}) before listening:\n${stderrTail()}`));
      });
    }));
  } catch (error) {
    child.kill("SIGKILL");
    await exited;
    rmSync(logDir, { recursive: true, force: true });
    throw error;
  }
  // Keep draining stdout so the child never blocks on it.
  child.stdout.resume();

  let stopping;
  return {
    child,
    pid: child.pid,
    url,
    startupMs,
    startupCpuMs,
    stderrTail,
    /** SIGTERM, then SIGKILL after `timeoutMs`; resolves with how it exited. Idempotent. */
    stop(timeoutMs = DEFAULT_STOP_TIMEOUT_MS) {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
        let timer;
        const killed = new Promise((resolve) => {
          timer = setTimeout(() => {
            child.kill("SIGKILL");
            resolve();
          }, timeoutMs);
        });
        await Promise.race([exited, killed]);
        clearTimeout(timer);
        const result = await exited;
        rmSync(logDir, { recursive: true, force: true });
        return result;
      })();
      return stopping;
    },
  };
}

/** The runtime CLI with a bench handler from scripts/bench/handlers/, on a free loopback port. */
export function spawnRuntime({ handler, args = [], nodeArgs = [], readyTimeoutMs } = {}) {
  return spawnListening({
    script: RUNTIME_BIN,
    args: ["--port", "0", "--host", "127.0.0.1", "--handler", join(HANDLERS_DIR, handler), ...args],
    nodeArgs,
    readyTimeoutMs,
  });
}

/** The bare `ws` baseline server on a free loopback port. */
export function spawnBaseline({ nodeArgs = [], readyTimeoutMs } = {}) {
  return spawnListening({ script: BASELINE_SERVER, args: ["--port", "0"], nodeArgs, readyTimeoutMs });
}

import { execFile, spawn } from "node:child_process";
import { chmod, chown } from "node:fs/promises";
import type { Readable } from "node:stream";
import { promisify } from "node:util";
import { listeningUrl } from "./process.js";

const run = promisify(execFile);

/** The unprivileged host user a sandbox runs as when the tests run as root. */
const HOST_USER = 65534;
/** The user the runtime is inside the sandbox, as in sandbox/Dockerfile. */
const SANDBOX_UID = 1000;
const TINI = "/usr/bin/tini";

/**
 * Fails, with the reason and the fix, when bubblewrap cannot make the
 * sandboxes these tests need here. Isolation tests never skip silently.
 */
export async function requireBubblewrap(): Promise<void> {
  try {
    await run("bwrap", ["--version"]);
  } catch {
    throw new Error(
      "bubblewrap (bwrap) is not installed: the isolation tests need it (Debian: apt-get install bubblewrap)",
    );
  }
  try {
    await run("test", ["-x", TINI]);
  } catch {
    throw new Error(
      `${TINI} is missing: the sandboxes run tini as their init, as sandbox/Dockerfile does (apt-get install tini)`,
    );
  }
  try {
    await run(...hostUser(["bwrap", ...namespaceFlags("probe"), "--ro-bind", "/", "/", "true"]));
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? String(error);
    throw new Error(`bwrap cannot create user, PID, IPC and UTS namespaces here: ${stderr.trim()}`);
  }
}

/**
 * Makes `dir` usable by the sandbox's host user: `readable` (the installed
 * prefix) or owned and writable (the workspace).
 */
export async function shareWithSandbox(dir: string, access: "readable" | "writable"): Promise<void> {
  await chmod(dir, 0o755);
  if (access === "writable" && process.getuid?.() === 0) await chown(dir, HOST_USER, HOST_USER);
}

export interface SandboxOptions {
  /** A global npm prefix the release is installed into, mounted read-only at /opt/runtimeuse. */
  prefix: string;
  /** Mounted read-write at /workspace, the runtime's working directory. */
  workspace: string;
  /** Arguments of `runtimeuse`. */
  args: string[];
  hostname?: string;
  /** true (default): tini is PID 1 and runs the runtime; false: the runtime itself is PID 1. */
  init?: boolean;
}

export interface Sandbox {
  /** The runtime's URL, from its listening line. */
  url: string;
  /** The host PID of the sandbox's PID 1. */
  initPid: number;
  /** Resolves when bwrap exits: the sandbox is gone. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The runtime's stderr so far (its logs), for failure messages. */
  stderr(): string;
  /** SIGTERM to the sandbox's PID 1, as a container engine stops a container; resolves on exit. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL to the sandbox's PID 1, which ends everything in it. */
  kill(): Promise<void>;
}

/**
 * Starts the installed runtime in a bubblewrap sandbox: its own user, PID,
 * IPC and UTS namespaces, the host's /usr and /etc read-only, a private
 * /tmp, /workspace writable, running as uid 1000 inside and as an
 * unprivileged user outside. The network is the host's, so the runtime's
 * loopback port is reachable from the test.
 */
export async function startSandbox(options: SandboxOptions): Promise<Sandbox> {
  const command =
    options.init === false
      ? ["/opt/runtimeuse/bin/runtimeuse", ...options.args]
      : [TINI, "--", "/opt/runtimeuse/bin/runtimeuse", ...options.args];
  const [file, args] = hostUser([
    "bwrap",
    ...namespaceFlags(options.hostname ?? "sandbox"),
    ...["--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"],
    ...["--symlink", "usr/bin", "/bin", "--symlink", "usr/sbin", "/sbin"],
    ...["--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64"],
    ...["--ro-bind", options.prefix, "/opt/runtimeuse", "--bind", options.workspace, "/workspace"],
    ...["--tmpfs", "/tmp", "--proc", "/proc", "--dev", "/dev", "--chdir", "/workspace"],
    ...["--clearenv", "--setenv", "PATH", "/opt/runtimeuse/bin:/usr/bin:/bin", "--setenv", "HOME", "/workspace"],
    ...["--die-with-parent", "--json-status-fd", "3", "--as-pid-1"],
    ...command,
  ]);
  const child = spawn(file, args, { stdio: ["ignore", "pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (text: string) => {
    stderr = (stderr + text).slice(-64 * 1024);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  try {
    const [initPid, url] = await Promise.all([
      readInitPid(child.stdio[3] as Readable),
      listeningUrl(child, () => stderr),
    ]);
    return {
      url,
      initPid,
      exited,
      stderr: () => stderr,
      stop: async () => {
        signalPid(initPid, "SIGTERM");
        return exited;
      },
      kill: async () => {
        signalPid(initPid, "SIGKILL");
        await exited;
      },
    };
  } catch (error) {
    child.kill("SIGKILL");
    await exited;
    throw error;
  }
}

function namespaceFlags(hostname: string): string[] {
  return [
    ...["--unshare-user", "--uid", String(SANDBOX_UID), "--gid", String(SANDBOX_UID)],
    ...["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--hostname", hostname],
  ];
}

/** As root, runs `command` as the unprivileged HOST_USER (bwrap then needs no privilege of its own). */
function hostUser(command: string[]): [string, string[]] {
  if (process.getuid?.() !== 0) return [command[0] as string, command.slice(1)];
  return ["setpriv", ["--reuid", String(HOST_USER), "--regid", String(HOST_USER), "--clear-groups", ...command]];
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (error) {
    if ((error as { code?: string }).code !== "ESRCH") throw error;
  }
}

/** bwrap's first JSON status document names the host PID of the sandbox's PID 1; the rest is drained. */
function readInitPid(status: Readable): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let text = "";
    status.setEncoding("utf8").on("data", (chunk: string) => {
      text += chunk;
      const match = /"child-pid"\s*:\s*(\d+)/.exec(text);
      if (match) resolve(Number(match[1]));
    });
    status.once("end", () => reject(new Error(`bwrap reported no child PID: ${text}`)));
  });
}

import { type ChildProcess, spawn } from "node:child_process";

const WAIT_MS = 30_000;

export interface Listening {
  child: ChildProcess;
  url: string;
  /** Its stderr so far (the runtime's logs). */
  stderr(): string;
  /** SIGTERM, then the exit. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** An environment with only PATH and HOME, plus `extra`: nothing of this repository or the test run leaks in. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, ...extra };
}

/** Starts a runtime command and waits for its `runtimeuse listening on` line. */
export async function startListening(
  command: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<Listening> {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: "pipe" });
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (text: string) => {
    stderr = (stderr + text).slice(-64 * 1024);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    return exited;
  };
  try {
    const url = await listeningUrl(child, () => stderr);
    return { child, url, stderr: () => stderr, stop };
  } catch (error) {
    child.kill("SIGKILL");
    await exited;
    throw error;
  }
}

/** The URL from the runtime's listening line on `child`'s stdout; rejects if it exits first or takes too long. */
export function listeningUrl(child: ChildProcess, stderr: () => string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let stdout = "";
    const timer = setTimeout(() => reject(new Error(`no listening line within ${WAIT_MS} ms: ${stderr()}`)), WAIT_MS);
    child.stdout?.setEncoding("utf8").on("data", (text: string) => {
      stdout += text;
      const match = /runtimeuse listening on (ws:\/\/\S+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(match[1] as string);
      }
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code ?? signal}) before listening: ${stderr()}`));
    });
  });
}

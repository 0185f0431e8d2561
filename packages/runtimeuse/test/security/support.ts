import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { WebSocket } from "ws";
import { commands, type RawClient } from "../support/client.js";

export const BIN = fileURLToPath(new URL("../../bin/runtimeuse.js", import.meta.url));
export const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url));

export interface Refused {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * Attempts a WebSocket upgrade that is expected to be refused, and returns the
 * HTTP refusal. Fails if the upgrade succeeds (closing that socket).
 */
export async function expectRefused(url: string, options: ConstructorParameters<typeof WebSocket>[2] = {}) {
  const ws = new WebSocket(url, options);
  return new Promise<Refused>((resolve, reject) => {
    ws.once("unexpected-response", (_request, response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        body += chunk;
      });
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body, headers: response.headers }));
      response.on("error", reject);
    });
    ws.once("open", () => {
      ws.terminate();
      reject(new Error(`the upgrade to ${url.replace(/token=[^&]*/, "token=***")} was accepted`));
    });
    ws.once("error", reject);
  });
}

export interface CliChild {
  child: ChildProcess;
  url: string;
  port: number;
  /** Everything written to stderr so far (the logs). */
  stderr(): string;
  /** Everything written to stdout so far. */
  stdout(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts the built CLI binary (or another copy's `bin`) on 127.0.0.1, port 0, and waits for its listening line. */
export async function startCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  cwd?: string,
  bin = BIN,
): Promise<CliChild> {
  const child = spawn(process.execPath, [bin, "--port", "0", "--host", "127.0.0.1", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    ...(cwd === undefined ? {} : { cwd }),
  });
  let out = "";
  let err = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (d: string) => {
    err += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.setEncoding("utf8");
    child.stdout?.on("data", (d: string) => {
      out += d;
      const match = /runtimeuse listening on (ws:\/\/\S+)/.exec(out);
      if (match?.[1]) resolve(match[1]);
    });
    void exited.then(({ code }) => reject(new Error(`runtimeuse exited with ${code} before listening: ${err}`)));
  });
  return {
    child,
    url,
    port: Number(new URL(url).port),
    stderr: () => err,
    stdout: () => out,
    exited,
  };
}

/** The pids a command printed, one per line, from its streamed output. */
export function pidsIn(text: string): number[] {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => /^\d+$/.test(line))
    .map(Number);
}

/** Sends a command request whose commands print pids, one per line, and reads its output until `count` are printed. */
export async function runPrintingPids(client: RawClient, command: string, count = 2): Promise<number[]> {
  client.send(commands([command]));
  let printed = "";
  while (pidsIn(printed).length < count) {
    const frame = await client.next();
    if (frame.message_type === "command_output_message") printed += String(frame.text);
  }
  return pidsIn(printed);
}

/**
 * True while the process exists and is not a zombie. A killed process whose
 * parent has died stays a zombie until init reaps it: it no longer runs.
 */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { WAIT_MS } from "./harness.js";

const MAIN = pathToFileURL(fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url))).href;

export interface CliRun {
  child: ChildProcess;
  /** Set once the CLI printed its listening line. */
  url: string | undefined;
  stderr(): string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

/**
 * Runs the runtimeuse CLI from source (through tsx) as a child process with
 * exactly `env`, and waits until it prints its listening line or exits.
 * `loaderLog`: a file where an import hook records every package specifier
 * the process resolves (to see which SDKs were loaded). `openFilesLimit`:
 * the CLI's open-files limit (`ulimit -n`).
 */
export async function startCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  loaderLog?: string,
  openFilesLimit?: number,
): Promise<CliRun> {
  const imports = ["--import", "tsx"];
  if (loaderLog) imports.push("--import", hookRegistration(loaderLog));
  const node = [
    process.execPath,
    ...imports,
    "--input-type=module",
    "-e",
    `const { main } = await import(${JSON.stringify(MAIN)}); process.exitCode = await main(process.argv.slice(1));`,
    "--",
    ...args,
  ];
  // With a limit, a shell lowers it (`ulimit -n`) and then becomes the CLI.
  const [command, ...rest] =
    openFilesLimit === undefined ? node : ["/bin/sh", "-c", `ulimit -n ${openFilesLimit} && exec "$0" "$@"`, ...node];
  const child = spawn(command as string, rest, { env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (text: string) => {
    stderr = (stderr + text).slice(-64 * 1024);
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const run: CliRun = {
    child,
    url: undefined,
    stderr: () => stderr,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the CLI did not start in time; stderr: ${stderr}`)), WAIT_MS);
    child.stdout?.setEncoding("utf8").on("data", (text: string) => {
      stdout += text;
      const match = /runtimeuse listening on (ws:\/\/\S+)/.exec(stdout);
      if (match) {
        run.url = match[1];
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
  return run;
}

/** A `data:` module registering resolve hooks that append each bare specifier to `logFile`. */
export function hookRegistration(logFile: string): string {
  const hooks = `
    import { appendFileSync } from "node:fs";
    export async function resolve(specifier, context, next) {
      if (!specifier.startsWith(".") && !specifier.startsWith("/") && !specifier.includes(":")) {
        appendFileSync(${JSON.stringify(logFile)}, specifier + "\\n");
      }
      return next(specifier, context);
    }`;
  const register = `
    import { register } from "node:module";
    register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)});`;
  return `data:text/javascript,${encodeURIComponent(register)}`;
}

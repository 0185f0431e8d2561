import { readFileSync } from "node:fs";
import { BUILTIN_AGENTS } from "../handlers/builtin.js";
import { HandlerLoadError, loadHandlerModule } from "../handlers/load.js";
import { createStreamSink, type LogSink } from "../logger.js";
import { RuntimeUseServer } from "../server/server.js";
import type { AgentHandler } from "../types.js";
import { type CliOptions, parseCliArgs, USAGE, UsageError } from "./args.js";

export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Resolves when the process is asked to stop (SIGTERM/SIGINT in the real CLI). */
  stopRequested: Promise<unknown>;
}

export const EXIT_USAGE = 2;

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

/**
 * The CLI: parse flags, pick the handler, run the server until asked to stop.
 * Returns the exit code. Bad input is one line on stderr and exit code 2.
 */
export async function main(argv: string[], io: Partial<CliIo> = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const env = io.env ?? process.env;
  const fail = (message: string) => {
    stderr.write(`runtimeuse: ${message}\n`);
    return EXIT_USAGE;
  };

  let options: CliOptions;
  try {
    options = parseCliArgs(argv);
  } catch (error) {
    if (error instanceof UsageError) return fail(`${error.message} (see runtimeuse --help)`);
    throw error;
  }
  if (options.help) {
    stdout.write(USAGE);
    return 0;
  }
  if (options.version) {
    stdout.write(`${packageVersion()}\n`);
    return 0;
  }

  let handler: AgentHandler;
  if (options.handler !== undefined) {
    try {
      handler = await loadHandlerModule(options.handler, io.cwd ?? process.cwd());
    } catch (error) {
      if (error instanceof HandlerLoadError) return fail(error.message);
      throw error;
    }
  } else {
    const agent = BUILTIN_AGENTS[options.agent];
    if (!agent) return fail(`unknown agent ${options.agent}`);
    const check = agent.check(env);
    for (const warning of check.warnings ?? []) stderr.write(`runtimeuse: warning: ${warning}\n`);
    if (check.error) return fail(check.error);
    handler = await agent.load();
  }

  const logSink = createStreamSink({ level: options.logLevel, format: options.logFormat, stream: stderr });
  if (io.stopRequested === undefined) keepServingOnStrayErrors(logSink);
  const server = new RuntimeUseServer({
    handler,
    port: options.port,
    host: options.host,
    logSink,
    ...(options.heartbeatIntervalMs === undefined ? {} : { heartbeatIntervalMs: options.heartbeatIntervalMs }),
  });
  try {
    const address = await server.startListening();
    stdout.write(
      `runtimeuse listening on ws://${address.host.includes(":") ? `[${address.host}]` : address.host}:${address.port}\n`,
    );
  } catch (error) {
    return fail(error instanceof Error ? error.message : String(error));
  }
  await (io.stopRequested ?? stopSignal());
  logSink.write("info", "stopping: finishing in-flight requests");
  await server.stop();
  return 0;
}

/**
 * Sessions contain their own failures, but a handler can still throw from a
 * timer or leave a promise rejected. Such an error belongs to one request, not
 * to every connection: log it and keep serving.
 */
function keepServingOnStrayErrors(log: LogSink): void {
  process.on("uncaughtException", (error) => {
    log.write("error", "uncaught exception (the runtime keeps serving)", { error: error.stack ?? error.message });
  });
  process.on("unhandledRejection", (reason) => {
    const error = reason instanceof Error ? (reason.stack ?? reason.message) : String(reason);
    log.write("error", "unhandled promise rejection (the runtime keeps serving)", { error });
  });
}

/** Resolves on the first SIGTERM or SIGINT; a second one exits at once. */
function stopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let received = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (received) process.exit(130);
      received = true;
      resolve(signal);
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  });
}

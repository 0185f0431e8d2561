import { constants } from "node:os";
import { DEFAULT_KILL_GRACE_MS } from "../commands/index.js";
import { defaultStateDir } from "../conversations/index.js";
import type { AgentHandler } from "../handler.js";
import { HandlerLoadError, loadHandlerModule, type PackageLocator } from "../handlers/index.js";
import { createStreamSink, guardStream, type LogSink, redactingSink } from "../logger.js";
import { RuntimeUseServer, runtimeVersion, TOKEN_ENV, wsUrl } from "../server/index.js";
import { AgentStartError, startAgents } from "./agents.js";
import { type CliOptions, parseCliArgs, USAGE, UsageError } from "./args.js";
import { nodeTooOld } from "./node-version.js";

export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Resolves when the process is asked to stop (SIGTERM, SIGINT or SIGHUP in the real CLI). */
  stopRequested: Promise<unknown>;
  /** Where agent packages are found (tests simulate a missing one). Default: next to the runtime. */
  locatePackage: PackageLocator;
}

export const EXIT_USAGE = 2;

/**
 * The CLI: parse flags, pick the handler, run the server until asked to stop.
 * Returns the exit code. Bad input is one line on stderr and exit code 2.
 */
export async function main(argv: string[], io: Partial<CliIo> = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  // bin/runtimeuse.js checks this before loading the bundle; the one-file build runs main directly.
  const tooOld = nodeTooOld();
  if (tooOld) {
    stderr.write(`runtimeuse: ${tooOld}\n`);
    return 1;
  }
  const env = io.env ?? process.env;
  /** The real CLI, which owns the process (tests run `main` in theirs, with their own `stopRequested`). */
  const ownsProcess = io.stopRequested === undefined;
  /** Writes the log lines gathered so far (the log sink batches them): nothing is left behind when `main` returns. */
  let flushLogs = () => {};
  const fail = (message: string) => {
    flushLogs();
    stderr.write(`runtimeuse: ${message}\n`);
    // A handler module that failed after starting a timer or a server, or an agent that
    // half started, must not keep a runtime that will never listen alive.
    if (ownsProcess) setImmediate(() => process.exit(EXIT_USAGE)).unref();
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
    stdout.write(`${runtimeVersion()}\n`);
    return 0;
  }
  const taken = takeToken(options.token, env);
  if (typeof taken === "object") return fail(taken.error);
  const token = taken;
  if (options.token !== undefined && ownsProcess) hideTokenFromProcessList(argv, options.token);

  const streamSink = createStreamSink({
    level: options.logLevel,
    format: options.logFormat,
    stream: stderr,
    batch: true,
  });
  flushLogs = () => streamSink.flush?.();
  const logSink = token === undefined ? streamSink : redactingSink(streamSink, () => [token]);
  let handler: AgentHandler;
  let closeAgents = async () => {};
  if (options.handler !== undefined) {
    // A module whose top-level await waits on nothing that can settle it leaves the event loop
    // empty while the import waits: Node would end the process with code 13 and no word.
    const neverSettled = () => {
      stderr.write(
        `runtimeuse: cannot load handler ${options.handler}: its top-level await never settled (it waits on nothing that can settle it)\n`,
      );
      process.exit(EXIT_USAGE);
    };
    if (ownsProcess) process.once("beforeExit", neverSettled);
    try {
      handler = await loadHandlerModule(options.handler, io.cwd ?? process.cwd());
    } catch (error) {
      if (error instanceof HandlerLoadError) return fail(error.message);
      throw error;
    } finally {
      process.off("beforeExit", neverSettled);
    }
  } else {
    try {
      const agents = await startAgents(options, {
        env,
        warn: (line) => stderr.write(`runtimeuse: warning: ${line}\n`),
        logSink,
        ...(io.locatePackage ? { locate: io.locatePackage } : {}),
      });
      handler = agents.handler;
      closeAgents = agents.close;
    } catch (error) {
      if (error instanceof AgentStartError) return fail(error.message);
      throw error;
    }
  }

  // Only the listening line goes to stdout; a reader that left early must cost nothing more than that line.
  const out = guardStream(stdout, (error) =>
    logSink.write("warn", "stdout failed; the runtime keeps serving", { error: error.message }),
  );
  if (ownsProcess) keepServingOnStrayErrors(logSink);
  const server = new RuntimeUseServer({
    handler,
    port: options.port,
    host: options.host,
    logSink,
    artifacts: options.artifacts,
    downloads: options.downloads,
    conversations: { stateDir: defaultStateDir(env), ...options.conversations },
    ...(token === undefined ? {} : { token }),
    ...defined({
      heartbeatIntervalMs: options.heartbeatIntervalMs,
      maxFrameBytes: options.maxFrameBytes,
      maxConnections: options.maxConnections,
      pingIntervalMs: options.pingIntervalMs,
      maxBufferedBytes: options.maxBufferedBytes,
      shutdownTimeoutMs: options.shutdownTimeoutMs,
      resumeGraceMs: options.resumeGraceMs,
      replayBufferBytes: options.replayBufferBytes,
    }),
  });
  // Listen for signals before the listening line: whoever reads that line may signal at once.
  const stopRequested = io.stopRequested ?? stopSignal();
  try {
    const address = await server.startListening();
    out.write(`runtimeuse listening on ${wsUrl(address.host, address.port)}\n`);
  } catch (error) {
    await closeAgents();
    return fail(error instanceof Error ? error.message : String(error));
  }
  const signal = await stopRequested;
  logSink.write("info", "stopping: refusing new connections, cancelling in-flight requests", {
    signal: typeof signal === "string" ? signal : undefined,
    connections: server.connectionCount,
    requests_in_flight: server.requestsInFlight,
  });
  await server.stop();
  await closeAgents();
  logSink.write("info", "stopped");
  // Something a handler left behind (a timer, a socket) must not keep a stopped runtime
  // alive; this fires only after the SIGKILLs that follow the kill grace were sent.
  if (ownsProcess) setTimeout(() => process.exit(0), DEFAULT_KILL_GRACE_MS + 1_000).unref();
  flushLogs();
  return 0;
}

/** Only the options that were given, so the server's defaults apply to the rest. */
function defined<T extends Record<string, number | undefined>>(values: T): Partial<Record<keyof T, number>> {
  const out: Partial<Record<keyof T, number>> = {};
  for (const [key, value] of Object.entries(values)) if (value !== undefined) out[key as keyof T] = value;
  return out;
}

/**
 * The token from --token, else from RUNTIMEUSE_TOKEN. The variable is then
 * removed from the environment, so neither the handler nor anything it or a
 * command starts inherits it. A set but empty variable is refused: failing
 * closed beats silently running without auth.
 */
function takeToken(flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined | { error: string } {
  const fromEnv = env[TOKEN_ENV];
  delete env[TOKEN_ENV];
  if (flag !== undefined) return flag;
  if (fromEnv === undefined) return undefined;
  if (fromEnv.trim() === "") return { error: `${TOKEN_ENV} is set but empty; unset it or give it a value` };
  return fromEnv;
}

/**
 * Other processes in the sandbox can read our command line (ps,
 * /proc/PID/cmdline): overwrite it with one where the token is masked.
 */
function hideTokenFromProcessList(argv: string[], token: string): void {
  const masked = argv.map((arg) => (arg === token ? "***" : arg.replace(token, "***")));
  process.title = ["runtimeuse", ...masked].join(" ");
}

/**
 * Sessions contain their own failures, but a handler can still throw from a
 * timer or leave a promise rejected. Such an error belongs to one request, not
 * to every connection: log it and keep serving. The sink never throws, and a
 * failure raised while one is being reported is not reported again, so a
 * failing log cannot feed itself.
 */
function keepServingOnStrayErrors(log: LogSink): void {
  let reporting = false;
  const report = (message: string, error: string) => {
    if (reporting) return;
    reporting = true;
    try {
      log.write("error", message, { error });
    } finally {
      reporting = false;
    }
  };
  process.on("uncaughtException", (error) => {
    report("uncaught exception (the runtime keeps serving)", error.stack ?? error.message);
  });
  process.on("unhandledRejection", (reason) => {
    report(
      "unhandled promise rejection (the runtime keeps serving)",
      reason instanceof Error ? (reason.stack ?? reason.message) : String(reason),
    );
  });
}

/**
 * Resolves on the first SIGTERM, SIGINT or SIGHUP (the terminal the runtime
 * ran in went away: Node's default would exit at once and leave the commands'
 * process groups running); a second one exits at once.
 */
function stopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let received = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (received) process.exit(128 + (constants.signals[signal] ?? 2));
      received = true;
      resolve(signal);
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
    process.on("SIGHUP", onSignal);
  });
}

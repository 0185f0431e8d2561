import { parseArgs } from "node:util";
import { ARTIFACT_DEFAULTS, type ArtifactSettings } from "../artifacts/options.js";
import { DEFAULT_ACP_PERMISSIONS } from "../handlers/acp/options.js";
import { ACP_PRESETS, GENERIC_ACP_AGENT } from "../handlers/acp/presets.js";
import { BUILTIN_AGENTS, DEFAULT_AGENT } from "../handlers/builtin.js";
import type { LogFormat, LogLevel } from "../logger.js";
import {
  DEFAULT_HOST,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_PING_INTERVAL_MS,
  DEFAULT_PORT,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
} from "../server/server.js";
import { DEFAULTS as SESSION_DEFAULTS } from "../session/websocket-session.js";

export interface CliOptions {
  help: boolean;
  version: boolean;
  port: number;
  host: string;
  /** The agents to run, the default first (`--agent a,b,c`). */
  agents: string[];
  /** For the `acp` agent: its command line, everything after `--`. */
  acpCommand?: string[];
  acpPermissions: "allow" | "deny";
  showThoughts: boolean;
  handler?: string;
  heartbeatIntervalMs?: number;
  logLevel: LogLevel;
  logFormat: LogFormat;
  /** Only the settings given on the command line; the rest keep their defaults. */
  artifacts: ArtifactSettings;
  /** From --token; the CLI falls back to RUNTIMEUSE_TOKEN. */
  token?: string;
  maxFrameBytes?: number;
  maxConnections?: number;
  pingIntervalMs?: number;
  maxBufferedBytes?: number;
  shutdownTimeoutMs?: number;
}

/** Bad command-line input; the message is the one line the user sees. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** Every name `--agent` takes. */
export const AGENT_NAMES: readonly string[] = [
  ...Object.keys(BUILTIN_AGENTS),
  GENERIC_ACP_AGENT,
  ...Object.keys(ACP_PRESETS),
];

export const USAGE = `Usage: runtimeuse [options] [-- <acp agent command> [args...]]

Runs the runtimeuse WebSocket server inside a sandbox.

Options:
  --port <n>                 port to listen on (default ${DEFAULT_PORT}; 0 picks a free one)
  --host <addr>              address to bind (default ${DEFAULT_HOST})
  --agent <name>[,<name>...] the agent(s) to run (default ${DEFAULT_AGENT}); an invocation picks one with its
                             "agent" field, else it gets the first. Built in: ${Object.keys(BUILTIN_AGENTS).join(", ")};
                             ACP agents: ${Object.keys(ACP_PRESETS).join(", ")}, and "${GENERIC_ACP_AGENT}" for any ACP agent,
                             whose command line follows "--" (runtimeuse --agent ${GENERIC_ACP_AGENT} -- my-agent --stdio)
  --acp-permissions <policy> how ACP agents' permission requests are answered: allow or deny
                             (default ${DEFAULT_ACP_PERMISSIONS}: the sandbox is the boundary)
  --show-thoughts            send ACP agents' thoughts to the client as "[thought] ..." blocks
  --handler <path>           custom handler module (.js, .mjs or .ts): default export or named "handler"
  --heartbeat-interval <ms>  interval between heartbeats while a request runs (default 15000)
  --artifact-settle <ms>     quiet time before a written file is offered (default ${ARTIFACT_DEFAULTS.settleMs})
  --artifact-upload-timeout <ms>
                             abandon an upload attempt that makes no progress this long (default ${ARTIFACT_DEFAULTS.uploadTimeoutMs})
  --artifact-retries <n>     retries of an upload after a connection error or 5xx (default ${ARTIFACT_DEFAULTS.retries})
  --log-level <level>        debug, info, warn or error (default info)
  --log-format <format>      text or json (default text)
  --token <token>            require this token on every connection, as "Authorization: Bearer <token>"
                             or ?token=<token> (default: $RUNTIMEUSE_TOKEN; none when unset)
  --max-frame-bytes <n>      largest incoming frame; larger closes with 1009 (default ${DEFAULT_MAX_FRAME_BYTES})
  --max-connections <n>      open connections at most; past it upgrades get 503 (default ${DEFAULT_MAX_CONNECTIONS})
  --ping-interval <ms>       ping interval; a peer that misses a pong for that long is dropped (default ${DEFAULT_PING_INTERVAL_MS})
  --max-buffered-bytes <n>   outgoing bytes queued for a peer that does not read before it is dropped
                             (default ${SESSION_DEFAULTS.maxBufferedBytes})
  --shutdown-timeout <ms>    on SIGTERM/SIGINT, how long requests get to end before connections are dropped
                             (default ${DEFAULT_SHUTDOWN_TIMEOUT_MS})
  -h, --help                 show this help
  -v, --version              show the version
`;

function integer(name: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`--${name} must be a whole number, got ${JSON.stringify(text)}`);
  const value = Number(text);
  if (value < min || value > max) throw new UsageError(`--${name} must be between ${min} and ${max}, got ${value}`);
  return value;
}

function oneOf<T extends string>(name: string, text: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(text)) {
    throw new UsageError(`--${name} must be one of ${allowed.join(", ")}, got ${JSON.stringify(text)}`);
  }
  return text as T;
}

function tokenOption(token: string | undefined): { token?: string } {
  if (token === undefined) return {};
  if (token.trim() === "") throw new UsageError("--token must not be empty");
  return { token };
}

function optionalInteger<K extends keyof CliOptions>(
  values: Record<string, unknown>,
  flag: string,
  key: K,
  min: number,
  max: number,
): Partial<Record<K, number>> {
  const text = values[flag];
  if (typeof text !== "string") return {};
  return { [key]: integer(flag, text, min, max) } as Partial<Record<K, number>>;
}

export function parseCliArgs(argv: string[]): CliOptions {
  // Everything after `--` is the ACP agent's own command line.
  const dashes = argv.indexOf("--");
  const own = dashes < 0 ? argv : argv.slice(0, dashes);
  const acpCommand = dashes < 0 ? undefined : argv.slice(dashes + 1);
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(own);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new UsageError(message.replace(/\. To specify a positional argument.*$/s, "").split("\n")[0] ?? message);
  }
  const { values } = parsed;
  if (values.handler !== undefined && values.agent !== undefined) {
    throw new UsageError("--agent and --handler cannot be used together");
  }
  const agents = agentList(values.agent ?? DEFAULT_AGENT);
  const wantsCommand = agents.includes(GENERIC_ACP_AGENT);
  if (wantsCommand && (acpCommand === undefined || acpCommand.length === 0)) {
    throw new UsageError(
      `--agent ${GENERIC_ACP_AGENT} needs the agent's command after "--": runtimeuse --agent ${GENERIC_ACP_AGENT} -- <command> [args...]`,
    );
  }
  if (!wantsCommand && acpCommand !== undefined) {
    throw new UsageError(`a command after "--" is only for --agent ${GENERIC_ACP_AGENT}`);
  }
  return {
    help: values.help ?? false,
    version: values.version ?? false,
    port: values.port === undefined ? DEFAULT_PORT : integer("port", values.port, 0, 65535),
    host: values.host ?? DEFAULT_HOST,
    agents,
    ...(wantsCommand && acpCommand ? { acpCommand } : {}),
    acpPermissions: oneOf("acp-permissions", values["acp-permissions"] ?? DEFAULT_ACP_PERMISSIONS, [
      "allow",
      "deny",
    ] as const),
    showThoughts: values["show-thoughts"] ?? false,
    ...(values.handler === undefined ? {} : { handler: values.handler }),
    ...(values["heartbeat-interval"] === undefined
      ? {}
      : { heartbeatIntervalMs: integer("heartbeat-interval", values["heartbeat-interval"], 1, 86_400_000) }),
    logLevel: oneOf("log-level", values["log-level"] ?? "info", ["debug", "info", "warn", "error"] as const),
    logFormat: oneOf("log-format", values["log-format"] ?? "text", ["text", "json"] as const),
    artifacts: {
      ...(values["artifact-settle"] === undefined
        ? {}
        : { settleMs: integer("artifact-settle", values["artifact-settle"], 0, 600_000) }),
      ...(values["artifact-upload-timeout"] === undefined
        ? {}
        : { uploadTimeoutMs: integer("artifact-upload-timeout", values["artifact-upload-timeout"], 1, 86_400_000) }),
      ...(values["artifact-retries"] === undefined
        ? {}
        : { retries: integer("artifact-retries", values["artifact-retries"], 0, 100) }),
    },
    ...tokenOption(values.token),
    ...optionalInteger(values, "max-frame-bytes", "maxFrameBytes", 1, 2 ** 31 - 1),
    ...optionalInteger(values, "max-connections", "maxConnections", 1, 1_000_000),
    ...optionalInteger(values, "ping-interval", "pingIntervalMs", 100, 86_400_000),
    ...optionalInteger(values, "max-buffered-bytes", "maxBufferedBytes", 1024, 2 ** 31 - 1),
    ...optionalInteger(values, "shutdown-timeout", "shutdownTimeoutMs", 0, 86_400_000),
  };
}

/** `a,b,c`: known names, each once, the default first. */
function agentList(text: string): string[] {
  const names = text.split(",").map((name) => name.trim());
  for (const name of names) {
    if (!AGENT_NAMES.includes(name)) {
      throw new UsageError(`unknown agent ${JSON.stringify(name)}; choose from ${AGENT_NAMES.join(", ")}`);
    }
  }
  const repeated = names.find((name, at) => names.indexOf(name) !== at);
  if (repeated !== undefined) throw new UsageError(`--agent names ${JSON.stringify(repeated)} twice`);
  return names;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      port: { type: "string" },
      host: { type: "string" },
      agent: { type: "string" },
      "acp-permissions": { type: "string" },
      "show-thoughts": { type: "boolean" },
      handler: { type: "string" },
      "heartbeat-interval": { type: "string" },
      "artifact-settle": { type: "string" },
      "artifact-upload-timeout": { type: "string" },
      "artifact-retries": { type: "string" },
      "log-level": { type: "string" },
      "log-format": { type: "string" },
      token: { type: "string" },
      "max-frame-bytes": { type: "string" },
      "max-connections": { type: "string" },
      "ping-interval": { type: "string" },
      "max-buffered-bytes": { type: "string" },
      "shutdown-timeout": { type: "string" },
      help: { type: "boolean", short: "h" },
      version: { type: "boolean", short: "v" },
    },
  });
}

import { parseArgs } from "node:util";
import { ARTIFACT_DEFAULTS, type ArtifactSettings } from "../artifacts/index.js";
import { CONVERSATION_DEFAULTS, type ConversationSettings, DEFAULT_STATE_DIR_TEXT } from "../conversations/index.js";
import { DEFAULT_DOWNLOAD_LIMITS, DOWNLOAD_LIMIT_RANGES, type DownloadLimits } from "../downloads/index.js";
import {
  ACP_PRESETS,
  BUILTIN_AGENTS,
  DEFAULT_ACP_PERMISSIONS,
  DEFAULT_AGENT,
  GENERIC_ACP_AGENT,
} from "../handlers/index.js";
import {
  DEFAULT_LOG_FORMAT,
  DEFAULT_LOG_LEVEL,
  LOG_FORMATS,
  LOG_LEVELS,
  type LogFormat,
  type LogLevel,
} from "../logger.js";
import {
  DEFAULT_HOST,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_PING_INTERVAL_MS,
  DEFAULT_PORT,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  OPTION_RANGES,
} from "../server/index.js";
import {
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_MAX_BUFFERED_BYTES,
  DEFAULT_REPLAY_BUFFER_BYTES,
  DEFAULT_RESUME_GRACE_MS,
} from "../session-defaults.js";
import { formatDuration, parseDuration } from "./duration.js";

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
  /** Only the limits given on the command line; the rest keep their defaults. */
  downloads: Partial<DownloadLimits>;
  /** From --token; the CLI falls back to RUNTIMEUSE_TOKEN. */
  token?: string;
  maxFrameBytes?: number;
  maxConnections?: number;
  pingIntervalMs?: number;
  maxBufferedBytes?: number;
  shutdownTimeoutMs?: number;
  resumeGraceMs?: number;
  replayBufferBytes?: number;
  /** Only the settings given on the command line; the rest keep their defaults. */
  conversations: ConversationSettings;
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
  --handler <path>           custom handler module (.js, .mjs or .ts): default export or named "handler";
                             or a package's directory, or the name of a package installed in node_modules
  --heartbeat-interval <ms>  interval between heartbeats while a request runs (default ${DEFAULT_HEARTBEAT_INTERVAL_MS})
  --artifact-settle <ms>     quiet time before a written file is offered (default ${ARTIFACT_DEFAULTS.settleMs})
  --artifact-upload-timeout <ms>
                             abandon an upload attempt that makes no progress this long (default ${ARTIFACT_DEFAULTS.uploadTimeoutMs})
  --artifact-retries <n>     retries of an upload after a connection error or 5xx (default ${ARTIFACT_DEFAULTS.retries})
  --download-max-bytes <n>   largest file a request may download (default ${DEFAULT_DOWNLOAD_LIMITS.maxDownloadBytes})
  --download-max-extracted-bytes <n>
                             most bytes one downloaded archive may expand to (default ${DEFAULT_DOWNLOAD_LIMITS.maxExtractedBytes})
  --download-max-entries <n> most files, directories and links in one downloaded archive
                             (default ${DEFAULT_DOWNLOAD_LIMITS.maxEntries})
  --download-idle-timeout <ms>
                             fail a download that gets less than ${DEFAULT_DOWNLOAD_LIMITS.minProgressBytes} bytes in this long
                             (default ${DEFAULT_DOWNLOAD_LIMITS.idleTimeoutMs})
  --log-level <level>        ${LOG_LEVELS.slice(0, -1).join(", ")} or ${LOG_LEVELS.at(-1)} (default ${DEFAULT_LOG_LEVEL})
  --log-format <format>      ${LOG_FORMATS.join(" or ")} (default ${DEFAULT_LOG_FORMAT})
  --token <token>            require this token on every connection, as "Authorization: Bearer <token>"
                             or ?token=<token> (default: $RUNTIMEUSE_TOKEN; none when unset)
  --max-frame-bytes <n>      largest incoming frame; larger closes with 1009 (default ${DEFAULT_MAX_FRAME_BYTES})
  --max-connections <n>      open connections at most; past it upgrades get 503 (default ${DEFAULT_MAX_CONNECTIONS})
  --ping-interval <ms>       ping interval; a peer that misses a pong for that long is dropped (default ${DEFAULT_PING_INTERVAL_MS})
  --max-buffered-bytes <n>   outgoing bytes queued for a peer that does not read before it is dropped
                             (default ${DEFAULT_MAX_BUFFERED_BYTES})
  --resume-grace <ms>        how long a resumable client's session outlives a dropped connection; 0 turns
                             resume off (default ${DEFAULT_RESUME_GRACE_MS})
  --replay-buffer-bytes <n>  unacknowledged outgoing bytes kept per resumable session for a replay
                             (default ${DEFAULT_REPLAY_BUFFER_BYTES})
  --shutdown-timeout <ms>    on SIGTERM/SIGINT/SIGHUP, how long requests get to end before connections are dropped
                             (default ${DEFAULT_SHUTDOWN_TIMEOUT_MS})
  --state-dir <dir>          where conversations are kept (default ${DEFAULT_STATE_DIR_TEXT})
  --conversation-ttl <time>  at start, delete conversations not saved for this long: 90m, 36h, 7d; 0 keeps them
                             (default ${formatDuration(CONVERSATION_DEFAULTS.ttlMs)})
  --conversation-max-bytes <n>
                             refuse a conversation whose file is larger (default ${CONVERSATION_DEFAULTS.maxBytes})
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

function optionalInteger<K extends string>(
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

/**
 * `--port -1` as `--port=-1`: parseArgs reads a value that starts with a dash
 * as a possible flag and calls it ambiguous, where the user meant a (bad)
 * number that the flag's own check explains.
 */
function joinNegativeNumbers(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const next = argv[i + 1];
    if (arg.startsWith("--") && !arg.includes("=") && next !== undefined && /^-[\d.]/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

export function parseCliArgs(argv: string[]): CliOptions {
  // Everything after `--` is the ACP agent's own command line.
  const dashes = argv.indexOf("--");
  const own = dashes < 0 ? argv : argv.slice(0, dashes);
  const acpCommand = dashes < 0 ? undefined : argv.slice(dashes + 1);
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(joinNegativeNumbers(own));
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
    port: values.port === undefined ? DEFAULT_PORT : integer("port", values.port, ...OPTION_RANGES.port),
    host: hostOption(values.host),
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
      : {
          heartbeatIntervalMs: integer(
            "heartbeat-interval",
            values["heartbeat-interval"],
            ...OPTION_RANGES.heartbeatIntervalMs,
          ),
        }),
    logLevel: oneOf("log-level", values["log-level"] ?? DEFAULT_LOG_LEVEL, LOG_LEVELS),
    logFormat: oneOf("log-format", values["log-format"] ?? DEFAULT_LOG_FORMAT, LOG_FORMATS),
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
    downloads: {
      ...optionalInteger(values, "download-max-bytes", "maxDownloadBytes", ...DOWNLOAD_LIMIT_RANGES.maxDownloadBytes),
      ...optionalInteger(
        values,
        "download-max-extracted-bytes",
        "maxExtractedBytes",
        ...DOWNLOAD_LIMIT_RANGES.maxExtractedBytes,
      ),
      ...optionalInteger(values, "download-max-entries", "maxEntries", ...DOWNLOAD_LIMIT_RANGES.maxEntries),
      ...optionalInteger(values, "download-idle-timeout", "idleTimeoutMs", ...DOWNLOAD_LIMIT_RANGES.idleTimeoutMs),
    },
    ...tokenOption(values.token),
    ...optionalInteger(values, "max-frame-bytes", "maxFrameBytes", ...OPTION_RANGES.maxFrameBytes),
    ...optionalInteger(values, "max-connections", "maxConnections", ...OPTION_RANGES.maxConnections),
    ...optionalInteger(values, "ping-interval", "pingIntervalMs", ...OPTION_RANGES.pingIntervalMs),
    ...optionalInteger(values, "max-buffered-bytes", "maxBufferedBytes", ...OPTION_RANGES.maxBufferedBytes),
    ...optionalInteger(values, "shutdown-timeout", "shutdownTimeoutMs", ...OPTION_RANGES.shutdownTimeoutMs),
    ...optionalInteger(values, "resume-grace", "resumeGraceMs", ...OPTION_RANGES.resumeGraceMs),
    ...optionalInteger(values, "replay-buffer-bytes", "replayBufferBytes", ...OPTION_RANGES.replayBufferBytes),
    conversations: conversationOptions(values),
  };
}

function hostOption(text: string | undefined): string {
  if (text === undefined) return DEFAULT_HOST;
  if (text.trim() === "") throw new UsageError("--host must not be empty (0.0.0.0 listens on every interface)");
  return text;
}

function ttlOption(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) {
    throw new UsageError(
      `--conversation-ttl must be 0 or a whole number with a unit s, m, h or d (7d), got ${JSON.stringify(text)}`,
    );
  }
  return ms;
}

function conversationOptions(values: Record<string, string | boolean | undefined>): ConversationSettings {
  const stateDir = values["state-dir"];
  if (typeof stateDir === "string" && stateDir.trim() === "") throw new UsageError("--state-dir must not be empty");
  const ttl = values["conversation-ttl"];
  const maxBytes = values["conversation-max-bytes"];
  return {
    ...(typeof stateDir === "string" ? { stateDir } : {}),
    ...(typeof ttl === "string" ? { ttlMs: ttlOption(ttl) } : {}),
    ...(typeof maxBytes === "string"
      ? { maxBytes: integer("conversation-max-bytes", maxBytes, 1, Number.MAX_SAFE_INTEGER) }
      : {}),
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
      "download-max-bytes": { type: "string" },
      "download-max-extracted-bytes": { type: "string" },
      "download-max-entries": { type: "string" },
      "download-idle-timeout": { type: "string" },
      "log-level": { type: "string" },
      "log-format": { type: "string" },
      token: { type: "string" },
      "max-frame-bytes": { type: "string" },
      "max-connections": { type: "string" },
      "ping-interval": { type: "string" },
      "max-buffered-bytes": { type: "string" },
      "shutdown-timeout": { type: "string" },
      "resume-grace": { type: "string" },
      "replay-buffer-bytes": { type: "string" },
      "state-dir": { type: "string" },
      "conversation-ttl": { type: "string" },
      "conversation-max-bytes": { type: "string" },
      help: { type: "boolean", short: "h" },
      version: { type: "boolean", short: "v" },
    },
  });
}

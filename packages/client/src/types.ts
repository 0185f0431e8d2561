import type { ApprovalPolicy, ParsedRuntimeMessage, ToolKind, Usage } from "@runtimeuse/protocol";
import type { ReconnectEvent } from "./channel.js";
import type { Transport } from "./transport/types.js";

export type { ReconnectEvent } from "./channel.js";

/** Every duration in this package is in milliseconds; `Infinity` means no limit. */
export interface RuntimeUseClientOptions {
  /** `ws://` or `wss://` URL of the runtime. */
  url: string;
  /**
   * The runtime's auth token. The Node transport sends it as
   * `Authorization: Bearer <token>`; the standard WebSocket transport, which
   * cannot set headers, as the `?token=` query parameter.
   */
  token?: string;
  /** Extra handshake headers. Only transports that can set headers (Node) accept them. */
  headers?: Record<string, string>;
  /** How frames travel. Default: see the entry point you imported the client from. */
  transport?: Transport;
  /** Limit on opening a connection. Default 30 s. */
  connectTimeout?: number;
  /** Limit on `session.close()` waiting for the runtime's end-session confirm. Default 60 s. */
  closeTimeout?: number;
  /**
   * After a session request is cancelled or times out, how long the runtime
   * may take to send that request's terminal before the connection is closed.
   * Default 30 s.
   */
  drainTimeout?: number;
  /** Largest frame accepted from the runtime, in bytes. Default 64 MiB. */
  maxFrameBytes?: number;
  /** Messages from the runtime that may wait for a slow consumer before the connection is closed. Default 10 000. */
  maxQueuedMessages?: number;
  /**
   * Ask for a resumable connection and, after a drop, reconnect and resume
   * it: nothing the runtime sent meanwhile is lost or delivered twice
   * (docs/PROTOCOL.md, "Resumable connections"). Default true; false gives a
   * plain connection, whose drop cancels the request.
   */
  reconnect?: boolean;
  /** Reconnect attempts after one drop before `ConnectionLostError`. Default: unlimited (bounded by the runtime's grace window). */
  maxReconnectAttempts?: number;
  /** Cap on the delay between reconnect attempts (exponential backoff with full jitter from 100 ms). Default 5 s. */
  maxReconnectDelay?: number;
  /** Called after each resume; what it returns or throws is ignored. */
  onReconnect?: (event: ReconnectEvent) => unknown;
}

export interface CommandSpec {
  command: string;
  /** Created if missing. Default: the runtime's working directory. */
  cwd?: string;
  /** Merged over the runtime's environment. */
  env?: Record<string, string>;
}

export interface Downloadable {
  /** Fetched by the runtime; the file is named after the URL's last path segment, and a `.zip` is extracted. */
  downloadUrl: string;
  /** Directory inside the sandbox (created if missing). */
  workingDir: string;
}

export interface AssistantMessageEvent {
  type: "assistant_message";
  textBlocks: string[];
}

export interface CommandOutputEvent {
  type: "command_output";
  stream: "stdout" | "stderr";
  text: string;
  /** The command as it was sent. */
  command: string;
}

export interface HeartbeatEvent {
  type: "heartbeat";
  /** What the runtime is doing (`downloading`, `agent`, ...). */
  phase: string;
  /** Milliseconds since the request began. */
  elapsedMs: number;
}

export interface ArtifactUploadRequest {
  /** Base name of the file. */
  filename: string;
  /** Absolute path of the file inside the sandbox. */
  filepath: string;
}

/** Where the runtime should `PUT` the file's bytes. */
export interface ArtifactUploadTarget {
  presignedUrl: string;
  contentType: string;
}

type Awaitable<T> = T | Promise<T>;

export type { ApprovalPolicy, ToolKind, Usage } from "@runtimeuse/protocol";

/** A tool call the agent wants to make, held until the approval callback answers. */
export interface ApprovalRequest {
  /** The runtime's id for this request (the answer carries it). */
  requestId: string;
  toolName: string;
  toolKind: ToolKind;
  /** The tool's input, redacted. */
  input: Record<string, unknown>;
  /** Why the agent wants it, when it says. */
  reason?: string;
}

export interface ApprovalDecision {
  decision: "allow" | "deny";
  /** On a deny, told to the agent. */
  message?: string;
}

/** A question the agent asks the user. */
export interface QuestionRequest {
  requestId: string;
  question: string;
  header?: string;
  options?: Array<{ label: string; description?: string }>;
  multiSelect?: boolean;
}

export type OnApprovalRequest = (request: ApprovalRequest) => Awaitable<ApprovalDecision>;
/** Returns the answer: free text, or the chosen labels (several joined with `, `). */
export type OnQuestion = (question: QuestionRequest) => Awaitable<string>;

export type OnArtifactUploadRequest = (request: ArtifactUploadRequest) => Awaitable<ArtifactUploadTarget>;

/**
 * Callbacks run one at a time, in the order the runtime's messages arrived;
 * when one returns a promise, the next message is handled once it settles
 * (other return values are ignored). A callback
 * that throws cancels the request and its error is rethrown from the call.
 */
interface RequestOptions {
  /** Shown in the runtime's logs for this request. */
  sourceId?: string;
  /** Values the runtime replaces with `[REDACTED]` in everything it sends and logs. */
  secretsToRedact?: string[];
  /** Directories the runtime watches for artifacts; requires an `onArtifactUploadRequest` (here or on the session). */
  artifactsDirs?: string[];
  /** Gitignore-syntax rules for `artifactsDirs`, replacing each directory's `.artifactignore`. */
  artifactsIgnoreContent?: string;
  onCommandOutput?: (event: CommandOutputEvent) => unknown;
  onHeartbeat?: (event: HeartbeatEvent) => unknown;
  /** Answers the runtime's request for an upload URL for one artifact. */
  onArtifactUploadRequest?: OnArtifactUploadRequest;
  artifactUploadCallbackTimeout?: number;
  /** Limit on the whole call, connecting included. Default: none. */
  timeout?: number;
  /** Limit on waiting for the next message from the runtime (which sends heartbeats every 15 s while it works). Default 5 min. */
  idleTimeout?: number;
  /** Cancels the request (like `abort()`): the call rejects with `CancelledError`. */
  signal?: AbortSignal;
}

export interface QueryOptions extends RequestOptions {
  systemPrompt: string;
  model: string;
  /** A JSON Schema for the answer; the result is then `structured_output`. */
  outputSchema?: Record<string, unknown>;
  /** Environment for the agent. */
  agentEnv?: Record<string, string>;
  preAgentDownloadables?: Downloadable[];
  preAgentInvocationCommands?: CommandSpec[];
  postAgentInvocationCommands?: CommandSpec[];
  /**
   * Runs naming the same conversation share their history (1 to 128
   * characters of `A-Za-z0-9._-`, starting with a letter or digit). Sent as
   * `conversation_id`; see the protocol's "Conversations".
   */
  conversationId?: string;
  onAssistantMessage?: (event: AssistantMessageEvent) => unknown;
  assistantCallbackTimeout?: number;
  /**
   * Which of the runtime's agents runs the query (`runtimeuse --agent
   * openai,claude,codex`); unset: the runtime's first. A name the runtime did
   * not start fails with code `unknown_agent`.
   */
  agent?: string;
  /**
   * Which tool calls wait for `onApprovalRequest`: `"never"` (the default:
   * every call runs), `"always"`, or tool names and kinds (`"shell"`,
   * `"execute"`, `"edit"`, ...). Anything but `"never"` needs `onApprovalRequest`.
   */
  approvalPolicy?: ApprovalPolicy;
  /** How long the runtime waits for one approval or answer before it denies (ms). Default: no limit. */
  approvalTimeout?: number;
  /** Decides a held tool call. No time limit of its own; one that throws cancels the request. */
  onApprovalRequest?: OnApprovalRequest;
  /** Answers the agent's questions; setting it lets the agent ask. */
  onQuestion?: OnQuestion;
}

export interface ExecuteCommandsOptions extends RequestOptions {
  preExecutionDownloadables?: Downloadable[];
}

/** Options of `stream()`: the event callbacks are replaced by the events the iterator yields. */
export type StreamOptions = Omit<
  QueryOptions,
  "onAssistantMessage" | "onCommandOutput" | "onHeartbeat" | "assistantCallbackTimeout"
>;

export type QueryResultData =
  | { type: "text"; text: string }
  | { type: "structured_output"; structuredOutput: Record<string, unknown> };

export interface QueryResult {
  data: QueryResultData;
  /**
   * The agent's metadata (`{}` when it sent none), plus `reconnects`: how
   * many times the connection was resumed during the call, when it was.
   */
  metadata: Record<string, unknown>;
  /** What the run cost (`metadata.usage`); absent when the runtime reported none. */
  usage?: Usage;
  /** Set when `interrupt()` stopped the agent's turn: `data` is what it produced so far. */
  interrupted?: true;
}

export interface CommandResult {
  command: string;
  exitCode: number;
  /** Captured stdout (its tail, when `stdoutTruncated`). */
  stdout?: string;
  stdoutTruncated?: boolean;
}

export interface CommandExecutionResult {
  /** One per command that ran; execution stops at the first non-zero exit, which is included. */
  results: CommandResult[];
}

export type StreamEvent =
  | AssistantMessageEvent
  | CommandOutputEvent
  | HeartbeatEvent
  | ({ type: "result" } & QueryResult);

type EndSessionConfirm = Extract<ParsedRuntimeMessage, { message_type: "end_session_confirm_message" }>;

/** What happened to one artifact over the session, as the runtime reports it. */
export type ArtifactManifestEntry = NonNullable<EndSessionConfirm["artifacts"]>[number];

export interface SessionOptions {
  /**
   * Answers artifact requests of requests that set no callback of their own,
   * and late ones during `close()`. Default: the last callback a request of
   * this session used.
   */
  onArtifactUploadRequest?: OnArtifactUploadRequest;
}

export interface SessionCloseResult {
  /** The runtime's artifact manifest, when it sent one. */
  artifacts: ArtifactManifestEntry[] | undefined;
  /** The usage summed over the session's requests; absent when the runtime reported none. */
  usage?: Usage;
}

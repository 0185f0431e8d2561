import { InvalidOptionsError } from "./errors.js";
import { buildCommandExecution, buildInvocation } from "./messages.js";
import type { RequestPlan } from "./request.js";
import { type Bound, checkTimeout } from "./timing.js";
import type { CommandSpec, ExecuteCommandsOptions, OnArtifactUploadRequest, QueryOptions } from "./types.js";

/** The runtime heartbeats every 15 s while it works, so minutes of silence mean it is gone. */
export const DEFAULT_IDLE_TIMEOUT_MS = 5 * 60_000;

/** What the caller (one-shot client or session) contributes to a request. */
export interface CallContext {
  signal: AbortSignal;
  deadline: Bound | undefined;
  drainTimeout: number;
  keepInStep: boolean;
  /** Used when the request sets no `onArtifactUploadRequest` of its own (sessions). */
  fallbackArtifactCallback: OnArtifactUploadRequest | undefined;
  /** Fires on the caller's `interrupt()`. */
  interruptSignal?: AbortSignal;
}

type CommonOptions = ExecuteCommandsOptions &
  Partial<Pick<QueryOptions, "assistantCallbackTimeout" | "onApprovalRequest" | "onQuestion">>;

function checkCallback(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== "function") {
    throw new InvalidOptionsError(`${name}: expected a function, received ${typeof value}`);
  }
}

/** Validates the options every request shares; throws `InvalidOptionsError` naming the first bad one. */
export function checkCommonOptions(options: CommonOptions, fallback: OnArtifactUploadRequest | undefined): void {
  checkTimeout("timeout", options.timeout);
  checkTimeout("idleTimeout", options.idleTimeout);
  checkTimeout("assistantCallbackTimeout", options.assistantCallbackTimeout);
  checkTimeout("artifactUploadCallbackTimeout", options.artifactUploadCallbackTimeout);
  for (const name of [
    "onCommandOutput",
    "onHeartbeat",
    "onArtifactUploadRequest",
    "onAssistantMessage",
    "onApprovalRequest",
    "onQuestion",
  ] as const) {
    checkCallback(name, (options as Record<string, unknown>)[name]);
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw new InvalidOptionsError("signal: expected an AbortSignal");
  }
  if ((options.artifactsDirs?.length ?? 0) > 0 && !options.onArtifactUploadRequest && !fallback) {
    throw new InvalidOptionsError(
      "artifactsDirs: needs an onArtifactUploadRequest callback (on the request, or on the session) to answer the runtime's upload requests",
    );
  }
}

function basePlan(options: CommonOptions, context: CallContext) {
  return {
    deadline: context.deadline,
    idleTimeout: options.idleTimeout ?? DEFAULT_IDLE_TIMEOUT_MS,
    assistantCallbackTimeout: options.assistantCallbackTimeout,
    artifactUploadCallbackTimeout: options.artifactUploadCallbackTimeout,
    signal: context.signal,
    interruptSignal: context.interruptSignal,
    drainTimeout: context.drainTimeout,
    keepInStep: context.keepInStep,
  };
}

/** A policy that holds tool calls needs someone to decide them. */
function checkApprovalOptions(options: QueryOptions): void {
  const policy = options.approvalPolicy;
  const holds = policy !== undefined && policy !== "never" && !(Array.isArray(policy) && policy.length === 0);
  if (holds && !options.onApprovalRequest) {
    throw new InvalidOptionsError(
      `approvalPolicy: ${JSON.stringify(policy)} needs an onApprovalRequest callback to decide the tool calls it holds`,
    );
  }
  if (options.approvalTimeout !== undefined && options.approvalTimeout !== Number.POSITIVE_INFINITY) {
    const value = options.approvalTimeout;
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) {
      throw new InvalidOptionsError(
        `approvalTimeout: expected a positive whole number of milliseconds up to 2**53-1, or Infinity for no limit, received ${String(value)}`,
      );
    }
  }
}

export function queryPlan(prompt: string, options: QueryOptions, context: CallContext): RequestPlan<"result_message"> {
  if (options !== null && typeof options === "object") checkApprovalOptions(options);
  const message = buildInvocation(prompt, options);
  checkCommonOptions(options, context.fallbackArtifactCallback);
  return {
    message,
    expect: "result_message",
    label: "Query",
    callbacks: {
      onAssistantMessage: options.onAssistantMessage,
      onCommandOutput: options.onCommandOutput,
      onHeartbeat: options.onHeartbeat,
      onArtifactUploadRequest: options.onArtifactUploadRequest ?? context.fallbackArtifactCallback,
      onApprovalRequest: options.onApprovalRequest,
      onQuestion: options.onQuestion,
    },
    ...basePlan(options, context),
  };
}

export function commandsPlan(
  commands: CommandSpec[],
  options: ExecuteCommandsOptions,
  context: CallContext,
): RequestPlan<"command_execution_result_message"> {
  const message = buildCommandExecution(commands, options);
  checkCommonOptions(options, context.fallbackArtifactCallback);
  return {
    message,
    expect: "command_execution_result_message",
    label: "Command execution",
    callbacks: {
      onCommandOutput: options.onCommandOutput,
      onHeartbeat: options.onHeartbeat,
      onArtifactUploadRequest: options.onArtifactUploadRequest ?? context.fallbackArtifactCallback,
    },
    ...basePlan(options, context),
  };
}

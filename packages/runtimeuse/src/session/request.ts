import { resolve } from "node:path";
import { type Downloadable, ErrorCode, type InvocationMessage, type RequestMessage } from "@runtimeuse/protocol";
import { ArtifactsDirError } from "../artifacts/index.js";
import { ConversationError } from "../conversations/index.js";
import type { AgentHandler } from "../handler.js";
import { createLogger } from "../logger.js";
import { errorMessage } from "./engine.js";
import type { Interaction } from "./interaction.js";
import { loadDownloads } from "./lazy-modules.js";
import { runCommands } from "./request-commands.js";
import { runInvocation } from "./request-invocation.js";
import {
  describeError,
  type RequestAbort,
  type RequestHost,
  type RequestRun,
  type RequestSettings,
} from "./request-run.js";
import { loadResultCheck, parseOutputFormat, RequestFailure } from "./result.js";

/**
 * Runs one request through its lifecycle (PROTOCOL.md "Invocation lifecycle"
 * and "Command execution"). Always ends by calling `host.terminate` once; never
 * throws. `abort` aborts everything it started.
 */
export async function runRequest(
  request: RequestMessage,
  abort: RequestAbort,
  interaction: Interaction,
  host: RequestHost,
  settings: RequestSettings,
): Promise<void> {
  const run: RequestRun = {
    abort,
    interaction,
    host,
    settings,
    secrets: host.secrets(),
    lease: undefined,
    agentCommands: undefined,
    turnOver: false,
  };
  try {
    if (request.message_type === "invocation_message") checkAgent(request, settings.handler);
    // A schema that cannot be used fails the request before anything runs.
    const schemaText =
      request.message_type === "invocation_message" ? request.output_format_json_schema_str : undefined;
    const outputFormat = parseOutputFormat(schemaText);
    const resultCheck = outputFormat && (await loadResultCheck(schemaText, outputFormat));
    if (request.message_type === "invocation_message" && request.conversation_id !== undefined) {
      // Held from the start (a second request on it is refused at once) until the terminal:
      // every ending other than a saved result aborts, and an aborted run saves nothing.
      const held = settings.conversations().acquire(request.conversation_id);
      run.lease = held;
      abort.onAbort(() => held.release());
    }
    const dirs = artifactsDirs(request);
    if (dirs.length > 0 && host.watchArtifacts) {
      host.setPhase("watching_artifacts");
      await host.watchArtifacts(dirs, request.artifacts_ignore_content).catch((error: unknown) => {
        throw error instanceof ArtifactsDirError ? unusableArtifactsDir(request, error) : error;
      });
    }
    const downloadables =
      request.message_type === "invocation_message"
        ? request.pre_agent_downloadables
        : request.pre_execution_downloadables;
    if (downloadables && downloadables.length > 0) {
      host.setPhase("downloading");
      if (!(await download(downloadables, request.source_id, run))) return;
    }
    const terminal =
      request.message_type === "invocation_message"
        ? await runInvocation(request, outputFormat, resultCheck, run)
        : await runCommands(request, run);
    if (terminal === undefined || abort.aborted) return;
    // Undefined when nothing was ever watched on the connection: no offer, no wait.
    const offering = host.offerArtifacts?.();
    if (offering) {
      host.setPhase("offering_artifacts");
      await offering;
    }
    host.terminate(terminal);
  } catch (caught) {
    const error =
      caught instanceof ConversationError
        ? new RequestFailure(caught.message, { code: caught.code, ...caught.metadata })
        : caught;
    if (error instanceof RequestFailure) {
      // What a failed command or handler wrote before failing is offered too, before the terminal.
      if (!abort.aborted) await host.offerArtifacts?.()?.catch(() => {});
      host.terminate(errorMessage(error.message, error.metadata));
    } else {
      host.log.write("error", "request failed inside the runtime", { error: describeError(error) });
      host.terminate(errorMessage(`runtime error: ${describeError(error)}`, { code: ErrorCode.InternalError }));
    }
  } finally {
    run.lease?.release();
  }
}

/** Downloads the request's files; false when the request was aborted meanwhile (it just ends). */
async function download(
  downloadables: readonly Downloadable[],
  sourceId: string | undefined,
  run: RequestRun,
): Promise<boolean> {
  const downloads = await loadDownloads();
  try {
    await downloads.downloadAll(downloadables, {
      signal: run.abort.signal,
      secrets: run.secrets,
      ...(run.settings.downloadLimits ? { limits: run.settings.downloadLimits } : {}),
      logger: createLogger(run.host.log, sourceId),
    });
    return true;
  } catch (error) {
    if (run.abort.aborted) return false;
    if (!(error instanceof downloads.DownloadError)) {
      throw new RequestFailure(`${downloads.DOWNLOAD_FAILED}${String(error)}`, { code: ErrorCode.DownloadFailed });
    }
    throw new RequestFailure(error.message, {
      code: ErrorCode.DownloadFailed,
      reason: error.reason,
      ...(error.status === undefined ? {} : { status: error.status }),
      ...(error.url === undefined ? {} : { url: error.url }),
    });
  }
}

/** A request naming an agent its handler does not serve ends here, before anything of it runs. */
function checkAgent(request: InvocationMessage, handler: AgentHandler): void {
  const agents = handler.agents;
  if (agents === undefined || request.agent === undefined || agents.includes(request.agent)) return;
  throw new RequestFailure(
    `unknown agent ${JSON.stringify(request.agent)}: this runtime runs ${agents.map((name) => JSON.stringify(name)).join(", ")}`,
    { code: ErrorCode.UnknownAgent, agent: request.agent, agents: [...agents] },
  );
}

/** A directory the request names that the runtime cannot create: `invalid_field`, naming the field that holds it. */
function unusableArtifactsDir(request: RequestMessage, error: ArtifactsDirError): RequestFailure {
  const index = (request.artifacts_dirs ?? []).findIndex((dir) => resolve(dir) === error.dir);
  const field = index === -1 ? "artifacts_dir" : `artifacts_dirs[${index}]`;
  return new RequestFailure(`${field}: ${error.message}`, { code: ErrorCode.InvalidField, field });
}

function artifactsDirs(request: RequestMessage): string[] {
  const dirs = [...(request.artifacts_dirs ?? [])];
  if (request.artifacts_dir !== undefined && !dirs.includes(request.artifacts_dir)) dirs.push(request.artifacts_dir);
  return dirs;
}

import {
  type ClientApp,
  type CreateTerminalRequest,
  type CreateTerminalResponse,
  client,
  type KillTerminalRequest,
  type ReadTextFileRequest,
  type ReadTextFileResponse,
  type ReleaseTerminalRequest,
  RequestError,
  type RequestPermissionRequest,
  type RequestPermissionResponse,
  type SessionUpdate,
  type TerminalOutputRequest,
  type TerminalOutputResponse,
  type WaitForTerminalExitRequest,
  type WaitForTerminalExitResponse,
  type WriteTextFileRequest,
} from "@agentclientprotocol/sdk/unstable";
import type { LogSink } from "../../logger.js";

/**
 * What one request's ACP session answers when the agent calls back. The
 * runtime is the ACP client: every callback names a session, and each session
 * belongs to exactly one request.
 */
export interface AcpSessionHost {
  /** Called synchronously in arrival order; the host queues what needs awaiting. */
  update(update: SessionUpdate): void;
  requestPermission(params: RequestPermissionRequest): Promise<RequestPermissionResponse>;
  readTextFile(params: ReadTextFileRequest): Promise<ReadTextFileResponse>;
  writeTextFile(params: WriteTextFileRequest): Promise<void>;
  createTerminal(params: CreateTerminalRequest): Promise<CreateTerminalResponse>;
  terminalOutput(params: TerminalOutputRequest): TerminalOutputResponse;
  waitForTerminalExit(params: WaitForTerminalExitRequest, signal: AbortSignal): Promise<WaitForTerminalExitResponse>;
  killTerminal(params: KillTerminalRequest): Promise<void>;
  releaseTerminal(params: ReleaseTerminalRequest): Promise<void>;
}

/**
 * The ACP client app of one agent process: routes each callback to the
 * session it names in `sessions`. A callback for a session that is not (or no
 * longer) open is answered with "session not found"; a stray update is logged.
 */
export function createClientApp(sessions: ReadonlyMap<string, AcpSessionHost>, label: string, log: LogSink): ClientApp {
  const host = (sessionId: string): AcpSessionHost => {
    const found = sessions.get(sessionId);
    if (found === undefined) throw RequestError.sessionNotFound(sessionId);
    return found;
  };
  return client({ name: "runtimeuse" })
    .onNotification("session/update", ({ params }) => {
      const found = sessions.get(params.sessionId);
      if (found) found.update(params.update);
      else log.write("debug", `${label}: update for a session no request holds`, { session: params.sessionId });
    })
    .onRequest("session/request_permission", ({ params }) => host(params.sessionId).requestPermission(params))
    .onRequest("fs/read_text_file", ({ params }) => host(params.sessionId).readTextFile(params))
    .onRequest("fs/write_text_file", async ({ params }) => {
      await host(params.sessionId).writeTextFile(params);
      return {};
    })
    .onRequest("terminal/create", ({ params }) => host(params.sessionId).createTerminal(params))
    .onRequest("terminal/output", ({ params }) => host(params.sessionId).terminalOutput(params))
    .onRequest("terminal/wait_for_exit", ({ params, signal }) =>
      host(params.sessionId).waitForTerminalExit(params, signal),
    )
    .onRequest("terminal/kill", async ({ params }) => {
      await host(params.sessionId).killTerminal(params);
      return {};
    })
    .onRequest("terminal/release", async ({ params }) => {
      await host(params.sessionId).releaseTerminal(params);
      return {};
    });
}

import type {
  CreateTerminalRequest,
  KillTerminalRequest,
  ReadTextFileRequest,
  ReleaseTerminalRequest,
  RequestPermissionRequest,
  RequestPermissionResponse,
  SessionUpdate,
  TerminalOutputRequest,
  WaitForTerminalExitRequest,
  WriteTextFileRequest,
} from "@agentclientprotocol/sdk/unstable";
import { TOOL_KINDS } from "@runtimeuse/protocol";
import type { AgentInvocation } from "../../handler.js";
import type { AcpSessionHost } from "./callbacks.js";
import { readTextFile, writeTextFile } from "./files.js";
import type { AcpLimits, AcpPermissionPolicy } from "./options.js";
import type { AcpRelay } from "./relay.js";
import type { AcpTerminals } from "./terminals.js";

/**
 * The runtime's side of one request's ACP session: updates go to the relay,
 * file callbacks to the file system, terminals to the command runner, and
 * permission requests are answered by the runtime's policy and logged.
 */
export class RequestSessionHost implements AcpSessionHost {
  constructor(
    private readonly invocation: AgentInvocation,
    private readonly relay: AcpRelay,
    readonly terminals: AcpTerminals,
    private readonly cwd: string,
    private readonly policy: AcpPermissionPolicy,
    private readonly limits: AcpLimits,
  ) {}

  update(update: SessionUpdate): void {
    this.relay.update(update);
  }

  async requestPermission(params: RequestPermissionRequest): Promise<RequestPermissionResponse> {
    // The client's approval policy, when it set one, replaces the runtime's fixed answer.
    if (this.invocation.approvalPolicy !== "never") return { outcome: await askClient(params, this.invocation) };
    const decision = decidePermission(params, this.policy);
    const what = params.toolCall.title ?? params.toolCall.name ?? params.toolCall.toolCallId;
    this.invocation.logger.log(
      decision.outcome === "selected"
        ? `acp permission ${this.policy === "allow" ? "granted" : "refused"} (--acp-permissions ${this.policy}): ${what}, option ${decision.optionId}`
        : `acp permission refused (--acp-permissions ${this.policy}, no matching option): ${what}`,
    );
    return { outcome: decision };
  }

  readTextFile(params: ReadTextFileRequest) {
    return readTextFile(params, this.cwd, this.limits.maxReadBytes);
  }

  writeTextFile(params: WriteTextFileRequest) {
    return writeTextFile(params, this.cwd);
  }

  async createTerminal(params: CreateTerminalRequest) {
    return this.terminals.create(params);
  }

  terminalOutput(params: TerminalOutputRequest) {
    return this.terminals.output(params.terminalId);
  }

  waitForTerminalExit(params: WaitForTerminalExitRequest, signal: AbortSignal) {
    return this.terminals.waitForExit(params.terminalId, signal);
  }

  killTerminal(params: KillTerminalRequest) {
    return this.terminals.kill(params.terminalId);
  }

  releaseTerminal(params: ReleaseTerminalRequest) {
    return this.terminals.release(params.terminalId);
  }
}

/**
 * The client decides (through the request's approval policy): the tool by
 * its name, else its title, and its ACP kind; a call the policy does not
 * cover is allowed without asking. The decision picks the matching option.
 */
async function askClient(
  params: RequestPermissionRequest,
  invocation: AgentInvocation,
): Promise<RequestPermissionResponse["outcome"]> {
  const call = params.toolCall;
  const toolName = call.name ?? call.title ?? call.toolCallId;
  const raw = call.rawInput;
  const input =
    typeof raw === "object" && raw !== null && !Array.isArray(raw)
      ? (raw as Record<string, unknown>)
      : raw === undefined || raw === null
        ? {}
        : { input: raw };
  const kind = TOOL_KINDS.find((known) => known === call.kind) ?? "other";
  const decision = await invocation.requestApproval({
    toolName,
    toolKind: kind,
    input,
    ...(call.title && call.title !== toolName ? { reason: call.title } : {}),
  });
  invocation.logger.log(
    `acp permission ${decision.decision === "allow" ? "granted" : "refused"} (${decision.by}): ${toolName}`,
  );
  return decidePermission(params, decision.decision);
}

/**
 * `allow` picks the agent's allow-once option (else allow-always), `deny` its
 * reject-once option (else reject-always); with none of those offered the
 * request counts as cancelled, which agents treat as a refusal.
 */
export function decidePermission(
  params: RequestPermissionRequest,
  policy: AcpPermissionPolicy,
): RequestPermissionResponse["outcome"] {
  const kinds = policy === "allow" ? ["allow_once", "allow_always"] : ["reject_once", "reject_always"];
  for (const kind of kinds) {
    const option = params.options.find((candidate) => candidate.kind === kind);
    if (option) return { outcome: "selected", optionId: option.optionId };
  }
  return { outcome: "cancelled" };
}

import type { ApprovalPolicy, ToolKind } from "@runtimeuse/protocol";

/**
 * The kind of each built-in agent's tools, for policies that name kinds
 * (docs/PROTOCOL.md "A person in the loop"). A tool not listed is `other`
 * unless its agent says otherwise.
 */
const KINDS: Record<string, ToolKind> = {
  shell: "execute",
  Bash: "execute",
  BashOutput: "execute",
  KillShell: "execute",
  Edit: "edit",
  MultiEdit: "edit",
  Write: "edit",
  NotebookEdit: "edit",
  Read: "read",
  Glob: "search",
  Grep: "search",
  WebSearch: "search",
  web_search: "search",
  WebFetch: "fetch",
  Task: "think",
  TodoWrite: "think",
};

export function toolKindOf(toolName: string): ToolKind {
  return KINDS[toolName] ?? "other";
}

/** True when `policy` wants a call of `toolName` (of `kind`) approved first. */
export function policyCovers(policy: ApprovalPolicy, toolName: string, kind: ToolKind): boolean {
  if (policy === "never") return false;
  if (policy === "always") return true;
  return policy.includes(toolName) || policy.includes(kind);
}

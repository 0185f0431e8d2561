export { REDACTED, redactSecrets, redactText } from "./redact/redact.js";
export type { AgentHandler, AgentInvocation, AgentResult, MessageSender } from "./types.js";

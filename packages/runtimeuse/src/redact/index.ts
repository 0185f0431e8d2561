export { normalizeSecrets, REDACTED, redactSecrets, redactText } from "./redact.js";
export { StreamRedactor } from "./stream-redactor.js";

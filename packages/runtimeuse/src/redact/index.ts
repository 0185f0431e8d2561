export { containsSecret, normalizeSecrets, REDACTED, redactText } from "./redact.js";
export { StreamRedactor } from "./stream-redactor.js";

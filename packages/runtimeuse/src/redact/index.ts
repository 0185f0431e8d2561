export { normalizeSecrets, REDACTED, redactText } from "./redact.js";
export { containsSecret } from "./secret-search.js";
export { StreamRedactor } from "./stream-redactor.js";

import { ClientErrorCode, ErrorCode } from "./errors.js";
import { TERMINAL_MESSAGE_TYPES } from "./schemas.js";

/**
 * The lists other languages pin their copies against: the content of
 * fixtures/codes.json (written by scripts/write-codes.mjs, checked by
 * test/codes.test.ts).
 */
export function codesFixture() {
  return {
    terminal_message_types: [...TERMINAL_MESSAGE_TYPES],
    error_codes: Object.values(ErrorCode),
    client_error_codes: Object.values(ClientErrorCode),
  };
}

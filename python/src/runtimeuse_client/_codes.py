"""The codes this client reports for failures on its side, and the protocol's
terminal message types.

Both are defined once, in the protocol package (``ClientErrorCode``,
``ErrorCode`` and ``TERMINAL_MESSAGE_TYPES`` in packages/protocol); this
client cannot import them, so ``tests/unit/test_codes.py`` pins these copies
against ``packages/protocol/fixtures/codes.json``. docs/ERRORS.md lists them.
"""

from __future__ import annotations

# Client-side codes (never on the wire), shared with the TypeScript client.
CONNECTION_CLOSED = "connection_closed"
UNEXPECTED_MESSAGE = "unexpected_message"
SESSION_OUT_OF_STEP = "session_out_of_step"
CONNECTION_LOST = "connection_lost"

# The protocol's frame-level codes, for a frame from the runtime that fails validation.
INVALID_JSON = "invalid_json"
NOT_AN_OBJECT = "not_an_object"
UNKNOWN_MESSAGE_TYPE = "unknown_message_type"
INVALID_FIELD = "invalid_field"
BINARY_FRAME = "binary_frame"

CLIENT_CODES = frozenset({CONNECTION_CLOSED, UNEXPECTED_MESSAGE, SESSION_OUT_OF_STEP, CONNECTION_LOST})
FRAME_CODES = frozenset({INVALID_JSON, NOT_AN_OBJECT, UNKNOWN_MESSAGE_TYPE, INVALID_FIELD, BINARY_FRAME})

#: Messages that end a request; the first one the runtime sends for a request is its last.
TERMINAL_TYPES = frozenset({"result_message", "command_execution_result_message", "error_message"})

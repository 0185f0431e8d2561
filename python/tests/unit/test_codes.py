"""This client's copies of the protocol's terminal types and error codes match
the lists the protocol package defines (packages/protocol/fixtures/codes.json)."""

from __future__ import annotations

import json
from pathlib import Path

from runtimeuse_client import _codes

CODES = json.loads(
    (Path(__file__).resolve().parents[3] / "packages" / "protocol" / "fixtures" / "codes.json").read_text()
)


def test_terminal_types_are_the_protocols() -> None:
    """TERMINAL_TYPES is exactly the protocol's TERMINAL_MESSAGE_TYPES."""
    assert set(CODES["terminal_message_types"]) == _codes.TERMINAL_TYPES


def test_client_codes_are_the_protocols_client_error_codes() -> None:
    """Every client-side code this client reports is one of ClientErrorCode's, under the same name."""
    assert set(CODES["client_error_codes"]) >= _codes.CLIENT_CODES
    for name in ("CONNECTION_CLOSED", "UNEXPECTED_MESSAGE", "SESSION_OUT_OF_STEP"):
        assert getattr(_codes, name) in CODES["client_error_codes"], name


def test_frame_codes_are_the_protocols_wire_codes() -> None:
    """The codes for malformed frames are the protocol's own ErrorCode values."""
    assert set(CODES["error_codes"]) >= _codes.FRAME_CODES

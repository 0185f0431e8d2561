"""The shared protocol fixtures: the Python models accept and reject exactly
what the TypeScript schemas do (packages/protocol/fixtures)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from runtimeuse_client._parse import (
    CLIENT_MODELS,
    RUNTIME_MODELS,
    UnknownMessage,
    parse_client_message,
    parse_runtime_message,
)

FIXTURES = Path(__file__).resolve().parents[3] / "packages" / "protocol" / "fixtures"


def cases(kind: str) -> list[Path]:
    return sorted((FIXTURES / kind).glob("*.json"))


def parse(path: Path) -> object:
    raw = json.loads(path.read_text())
    message_type = path.name.split(".", 1)[0]
    if message_type in CLIENT_MODELS:
        return parse_client_message(raw)
    if message_type in RUNTIME_MODELS:
        return parse_runtime_message(raw)
    raise AssertionError(f"{path.name}: the file name does not start with a known message_type")


def test_the_fixture_folders_are_there_and_cover_every_message_type() -> None:
    """Each message type has at least one valid fixture, so none escapes the check."""
    valid, invalid = cases("valid"), cases("invalid")
    assert valid, f"no fixtures under {FIXTURES / 'valid'}"
    assert invalid, f"no fixtures under {FIXTURES / 'invalid'}"
    covered = {p.name.split(".", 1)[0] for p in valid}
    assert covered == set(CLIENT_MODELS) | set(RUNTIME_MODELS)


@pytest.mark.parametrize("path", cases("valid"), ids=lambda p: p.name)
def test_valid_fixture_is_accepted(path: Path) -> None:
    """A fixture under valid/ parses into its model."""
    message = parse(path)
    assert getattr(message, "message_type", None) == path.name.split(".", 1)[0]


@pytest.mark.parametrize("path", cases("invalid"), ids=lambda p: p.name)
def test_invalid_fixture_is_rejected(path: Path) -> None:
    """A fixture under invalid/ fails validation."""
    with pytest.raises((ValidationError, UnknownMessage)):
        parse(path)


HEARTBEAT = {"message_type": "heartbeat_message", "phase": "agent"}


@pytest.mark.parametrize(
    ("message", "accepted"),
    [
        ({**HEARTBEAT, "elapsed_ms": 5}, True),
        ({**HEARTBEAT, "elapsed_ms": 5.0}, True),
        ({**HEARTBEAT, "elapsed_ms": "5"}, False),
        ({**HEARTBEAT, "elapsed_ms": True}, False),
        ({**HEARTBEAT, "elapsed_ms": -1}, False),
        ({**HEARTBEAT, "elapsed_ms": 1e300}, False),
        (
            {
                "message_type": "command_execution_result_message",
                "results": [{"command": "c", "exit_code": 0, "stdout_truncated": 1}],
            },
            False,
        ),
        (
            {
                "message_type": "invocation_message",
                "system_prompt": "s",
                "user_prompt": "u",
                "model": "m",
                "output_format_json_schema_str": '{"type": "json_schema", "schema": {"a": NaN}}',
            },
            False,
        ),
    ],
)
def test_no_lax_coercion_where_the_schemas_are_strict(message: dict[str, object], accepted: bool) -> None:
    """Numbers, booleans and JSON text are taken as a JavaScript JSON parser and zod take them,
    not as pydantic's lax mode would (each case was checked against the zod schemas)."""
    parse = parse_client_message if message["message_type"] in CLIENT_MODELS else parse_runtime_message
    if accepted:
        parse(message)
    else:
        with pytest.raises(ValidationError):
            parse(message)

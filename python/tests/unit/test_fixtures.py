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

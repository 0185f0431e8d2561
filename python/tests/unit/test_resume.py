"""The I/O-free parts of resumable connections: numbering, acks, backoff, URLs."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

from runtimeuse_client._resume import (
    RECONNECT_BASE_DELAY_S,
    _Link,
    _with_query,
    reconnect_delay,
    resumable_url,
)
from support import wire

ANNOUNCED = wire.session_announcement(grace_ms=60_000)


def test_own_frames_are_numbered_from_one_with_an_envelope_seq() -> None:
    """Each client frame gets the next seq beside its own fields."""
    link = _Link(ANNOUNCED)
    first = json.loads(link.number('{"message_type":"cancel_message"}'))
    second = json.loads(link.number('{"message_type":"end_session_message"}'))
    assert first == {"message_type": "cancel_message", "seq": 1}
    assert second["seq"] == 2


def test_acknowledged_frames_are_not_re_sent() -> None:
    """Only frames after the runtime's ack stay in the resend buffer, in order."""
    link = _Link(ANNOUNCED)
    for _ in range(4):
        link.number('{"message_type":"cancel_message"}')
    link.acknowledged(2)
    assert [json.loads(text)["seq"] for text in link.unacked.values()] == [3, 4]


def test_backoff_is_full_jitter_capped_at_the_maximum() -> None:
    """Delays grow from the base and never exceed the cap."""
    assert 0 <= reconnect_delay(1, 5.0) <= RECONNECT_BASE_DELAY_S
    assert all(0 <= reconnect_delay(attempt, 0.5) <= 0.5 for attempt in range(1, 40))


def test_resume_urls_keep_the_callers_query() -> None:
    """resumable=1 is added, and a resume replaces it with resume and last_seq, keeping the token."""
    asked = resumable_url("ws://h:1/rt?token=t")
    assert parse_qs(urlsplit(asked).query) == {"token": ["t"], "resumable": ["1"]}
    resumed = _with_query(asked, {"resume": "sid", "last_seq": "7"}, drop=("resumable",))
    assert parse_qs(urlsplit(resumed).query) == {"token": ["t"], "resume": ["sid"], "last_seq": ["7"]}

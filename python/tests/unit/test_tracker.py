"""The request rules on their own, without asyncio or a transport."""

from __future__ import annotations

import pytest

from runtimeuse_client import AgentRuntimeError, CancelledException
from runtimeuse_client._tracker import AnswerUpload, Deliver, Finish, RequestState, RequestTracker, Skip
from support import wire


def query_tracker() -> RequestTracker:
    return RequestTracker("result_message", "Query was cancelled")


def test_progress_is_delivered_and_the_result_finishes() -> None:
    """Assistant, output and heartbeat messages are delivered; the expected terminal finishes."""
    tracker = query_tracker()
    assert isinstance(tracker.receive(wire.assistant("a")), Deliver)
    assert isinstance(tracker.receive(wire.output("o")), Deliver)
    assert isinstance(tracker.receive(wire.heartbeat()), Deliver)
    action = tracker.receive(wire.text_result("r"))
    assert isinstance(action, Finish)
    assert action.result is not None
    assert action.error is None
    assert tracker.state is RequestState.FINISHED
    assert tracker.message_count == 4


def test_nothing_is_accepted_after_the_terminal() -> None:
    """Feeding a finished tracker is a programming error, not a second terminal."""
    tracker = query_tracker()
    tracker.receive(wire.error("x"))
    with pytest.raises(RuntimeError, match="already finished"):
        tracker.receive(wire.text_result("late"))


def test_after_abort_progress_is_skipped_and_any_terminal_means_cancelled() -> None:
    """Aborting silences progress and upload requests; the terminal then yields CancelledException."""
    tracker = query_tracker()
    assert tracker.abort() is True
    assert isinstance(tracker.receive(wire.assistant("a")), Skip)
    assert isinstance(tracker.receive(wire.upload_request("/x")), Skip)
    action = tracker.receive(wire.text_result("r"))
    assert isinstance(action, Finish)
    assert isinstance(action.error, CancelledException)
    assert str(action.error) == "Query was cancelled"


def test_abort_after_the_terminal_is_a_no_op() -> None:
    """abort() on a finished request reports False and changes nothing."""
    tracker = query_tracker()
    tracker.receive(wire.text_result("r"))
    assert tracker.abort() is False
    assert tracker.state is RequestState.FINISHED


def test_upload_requests_ask_for_an_answer() -> None:
    """artifact_upload_request_message becomes AnswerUpload with the typed request."""
    action = query_tracker().receive(wire.upload_request("/out/f.bin"))
    assert isinstance(action, AnswerUpload)
    assert action.request.filename == "f.bin"


@pytest.mark.parametrize(
    "raw",
    [
        {"message_type": "brand_new"},
        {"no_type": True},
        {"raw": "not json"},
        {"message_type": "assistant_message", "text_blocks": "not a list"},
        {"message_type": "end_session_confirm_message"},
    ],
)
def test_unknown_or_malformed_non_terminals_are_skipped(raw: dict[str, object]) -> None:
    """Frames that are not usable progress are skipped; the request goes on."""
    tracker = query_tracker()
    assert isinstance(tracker.receive(raw), Skip)
    assert tracker.state is RequestState.RUNNING


def test_a_malformed_error_message_still_ends_the_request() -> None:
    """An error_message missing its text ends the request with invalid_message."""
    action = query_tracker().receive({"message_type": "error_message", "metadata": {}})
    assert isinstance(action, Finish)
    assert isinstance(action.error, AgentRuntimeError)
    assert action.error.code == "invalid_message"


def test_connection_end_is_an_error_unless_aborted() -> None:
    """The stream ending early is connection_closed, or CancelledException after abort."""
    error = query_tracker().connection_ended().error
    assert isinstance(error, AgentRuntimeError)
    assert error.code == "connection_closed"
    aborted = query_tracker()
    aborted.abort()
    assert isinstance(aborted.connection_ended().error, CancelledException)

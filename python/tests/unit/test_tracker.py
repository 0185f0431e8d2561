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
    ("raw", "code"),
    [
        ({"message_type": "brand_new"}, "unknown_message_type"),
        ({"no_type": True}, "unknown_message_type"),
        ({"raw": "not json"}, "invalid_json"),
        ({"raw": "[1]"}, "not_an_object"),
        ({"raw": "{}", "binary": True}, "binary_frame"),
        ({"message_type": "assistant_message", "text_blocks": "not a list"}, "invalid_field"),
        ({"message_type": "error_message", "metadata": {}}, "invalid_field"),
    ],
)
def test_a_frame_that_fails_validation_ends_the_request_and_the_connection(raw: dict[str, object], code: str) -> None:
    """A malformed frame, terminal or not, ends the request with the protocol's code; the connection is unusable."""
    tracker = query_tracker()
    action = tracker.receive(raw)
    assert isinstance(action, Finish)
    assert isinstance(action.error, AgentRuntimeError)
    assert action.error.code == code
    assert tracker.connection_error is action.error


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"message_type": "result_message", "data": {"type": "text"}}, "data.text"),
        ({"message_type": "result_message", "data": {"type": "other"}}, "data.type"),
        (
            {"message_type": "result_message", "data": {"type": "structured_output", "structured_output": 3}},
            "data.structured_output",
        ),
        ({"message_type": "heartbeat_message", "phase": "agent", "elapsed_ms": 1.5}, "elapsed_ms"),
    ],
)
def test_the_field_is_named_as_the_protocol_names_it(raw: dict[str, object], field: str) -> None:
    """invalid_field carries the field's path in the protocol's notation, without pydantic's union tags."""
    action = query_tracker().receive(raw)
    assert isinstance(action, Finish)
    assert isinstance(action.error, AgentRuntimeError)
    assert (action.error.metadata or {})["field"] == field


def test_a_results_item_path_uses_brackets() -> None:
    """A field inside a list is named results[0].exit_code."""
    tracker = RequestTracker("command_execution_result_message", "Command execution was cancelled")
    action = tracker.receive(
        {"message_type": "command_execution_result_message", "results": [{"command": "c", "exit_code": "0"}]}
    )
    assert isinstance(action, Finish)
    assert isinstance(action.error, AgentRuntimeError)
    assert (action.error.metadata or {})["field"] == "results[0].exit_code"


@pytest.mark.parametrize(
    "raw",
    [
        {"message_type": "command_execution_result_message", "results": []},
        {"message_type": "end_session_confirm_message"},
    ],
)
def test_a_terminal_of_the_wrong_kind_or_a_confirm_is_unexpected_message(raw: dict[str, object]) -> None:
    """Messages that cannot answer a query end it with unexpected_message and mark the connection unusable."""
    tracker = query_tracker()
    action = tracker.receive(raw)
    assert isinstance(action, Finish)
    assert isinstance(action.error, AgentRuntimeError)
    assert action.error.code == "unexpected_message"
    assert tracker.connection_error is action.error


def test_after_abort_a_violation_still_ends_in_cancelled_but_marks_the_connection() -> None:
    """Once aborted the request ends cancelled whatever ends it; a violation still makes the connection unusable."""
    tracker = query_tracker()
    tracker.abort()
    action = tracker.receive({"raw": "garbage"})
    assert isinstance(action, Finish)
    assert isinstance(action.error, CancelledException)
    assert tracker.connection_error is not None
    assert tracker.connection_error.code == "invalid_json"


def test_connection_end_is_an_error_unless_aborted() -> None:
    """The stream ending early is connection_closed, or CancelledException after abort."""
    error = query_tracker().connection_ended().error
    assert isinstance(error, AgentRuntimeError)
    assert error.code == "connection_closed"
    aborted = query_tracker()
    aborted.abort()
    assert isinstance(aborted.connection_ended().error, CancelledException)

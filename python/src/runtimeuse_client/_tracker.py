"""The rules of one request, with no I/O.

:class:`RequestTracker` is fed each message the runtime sends and answers
with what the client should do about it. The asyncio layer (``_driver``)
performs those actions; keeping the rules here makes each one testable
without sockets or timers. They are the rules of docs/PROTOCOL.md
("Clients"), which the TypeScript client's tracker follows too; the shared
scenarios in packages/protocol/fixtures/scenarios pin both.

The rules, in short:

- The first terminal message (the expected result, or an ``error_message``)
  ends the request; nothing after it belongs to the request.
- A frame that fails validation, a terminal of another kind than the
  request's, or an end-session confirm mid-request is a protocol violation:
  the request ends with it and the connection can no longer be trusted.
- After :meth:`RequestTracker.abort` the request keeps reading until its
  terminal, so a persistent session stays in step, but no callback fires and
  the request ends in :class:`CancelledException` whatever ends it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Literal, Union

from pydantic import ValidationError

from ._codes import CONNECTION_CLOSED, TERMINAL_TYPES, UNEXPECTED_MESSAGE
from ._parse import UnknownMessage, malformed_frame, message_type_of, parse_runtime_message
from .exceptions import AgentRuntimeError, CancelledException
from .messages import (
    ApprovalRequestMessageInterface,
    ArtifactUploadRequestMessageInterface,
    AssistantMessageInterface,
    CommandExecutionResultMessageInterface,
    CommandOutputMessageInterface,
    ErrorMessageInterface,
    HeartbeatMessageInterface,
    QuestionRequestMessageInterface,
    ResponseErrorMessageInterface,
    ResultMessageInterface,
)

TerminalType = Literal["result_message", "command_execution_result_message"]
Progress = Union[AssistantMessageInterface, CommandOutputMessageInterface, HeartbeatMessageInterface]
WireResult = Union[ResultMessageInterface, CommandExecutionResultMessageInterface]

#: The request message each terminal answers, for error texts.
_REQUEST_OF = {"result_message": "invocation_message", "command_execution_result_message": "command_execution_message"}


class RequestState(enum.Enum):
    RUNNING = "running"
    #: ``abort()`` was called, or this side gave up; waiting for the terminal.
    ABORTING = "aborting"
    #: The terminal (or the end of the connection) was seen.
    FINISHED = "finished"


@dataclass(frozen=True)
class Deliver:
    """Pass a progress message to its callback and to a stream's reader."""

    message: Progress


@dataclass(frozen=True)
class AnswerUpload:
    """Ask the artifact callback for an upload URL and send it back."""

    request: ArtifactUploadRequestMessageInterface


@dataclass(frozen=True)
class AnswerPrompt:
    """Ask the approval or question callback and send its answer back."""

    request: ApprovalRequestMessageInterface | QuestionRequestMessageInterface


@dataclass(frozen=True)
class Skip:
    """Nothing to do; ``reason`` is worth a log line."""

    reason: str


@dataclass(frozen=True)
class Finish:
    """The request is over: return ``result`` or raise ``error``."""

    result: WireResult | None = None
    error: AgentRuntimeError | CancelledException | None = None


Action = Union[Deliver, AnswerUpload, AnswerPrompt, Skip, Finish]


class RequestTracker:
    """Decides, message by message, what one request's client does."""

    def __init__(self, terminal_type: TerminalType, cancelled_message: str) -> None:
        self.terminal_type = terminal_type
        self.cancelled_message = cancelled_message
        self.state = RequestState.RUNNING
        self.message_count = 0
        self.last_message_type: str | None = None
        #: Set when the request ended because the connection can no longer be
        #: used: it closed, or the runtime broke the protocol (then it must
        #: be closed). A session ends with it.
        self.connection_error: AgentRuntimeError | None = None

    @property
    def finished(self) -> bool:
        return self.state is RequestState.FINISHED

    def abort(self) -> bool:
        """Mark the request aborted; False if it had already finished."""
        if self.state is RequestState.RUNNING:
            self.state = RequestState.ABORTING
        return self.state is RequestState.ABORTING

    def receive(self, raw: Any) -> Action:
        if self.finished:
            raise RuntimeError("the request has already finished")
        self.message_count += 1
        self.last_message_type = message_type_of(raw)
        try:
            message = parse_runtime_message(raw)
        except (UnknownMessage, ValidationError) as exc:
            return self._broken(malformed_frame(raw, exc))

        if message.message_type in TERMINAL_TYPES:
            if isinstance(message, ErrorMessageInterface):
                return self._finish(error=AgentRuntimeError(message.error, metadata=message.metadata))
            if (
                isinstance(message, (ResultMessageInterface, CommandExecutionResultMessageInterface))
                and message.message_type == self.terminal_type
            ):
                return self._finish(result=message)
            return self._broken(
                _unexpected(
                    f"{message.message_type} in answer to {_REQUEST_OF[self.terminal_type]}", message.message_type
                )
            )
        if message.message_type == "end_session_confirm_message":
            return self._broken(
                _unexpected(f"{message.message_type} while a request was in flight", message.message_type)
            )
        if isinstance(message, ResponseErrorMessageInterface):
            # A refused late answer: it changes nothing.
            return Skip(f"the runtime refused an answer: {message.error}")
        if self.state is RequestState.ABORTING:
            return Skip(f"{message.message_type} after abort")
        if isinstance(message, (AssistantMessageInterface, CommandOutputMessageInterface, HeartbeatMessageInterface)):
            return Deliver(message)
        if isinstance(message, ArtifactUploadRequestMessageInterface):
            return AnswerUpload(message)
        if isinstance(message, (ApprovalRequestMessageInterface, QuestionRequestMessageInterface)):
            return AnswerPrompt(message)
        raise AssertionError(f"no rule for {message.message_type}")

    def connection_ended(self) -> Finish:
        """The message stream ended before a terminal arrived."""
        error = AgentRuntimeError(
            "the connection ended before the runtime sent the request's result",
            {"code": CONNECTION_CLOSED, "message_count": self.message_count},
        )
        return self._broken(error)

    def _broken(self, error: AgentRuntimeError) -> Finish:
        self.connection_error = error
        return self._finish(error=error)

    def _finish(self, result: WireResult | None = None, error: AgentRuntimeError | None = None) -> Finish:
        aborted = self.state is RequestState.ABORTING
        self.state = RequestState.FINISHED
        if aborted:
            return Finish(error=CancelledException(self.cancelled_message))
        return Finish(result=result, error=error)


def _unexpected(what: str, message_type: str) -> AgentRuntimeError:
    return AgentRuntimeError(f"the runtime sent {what}", {"code": UNEXPECTED_MESSAGE, "message_type": message_type})

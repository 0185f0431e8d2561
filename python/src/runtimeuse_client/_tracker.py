"""The rules of one request, with no I/O.

:class:`RequestTracker` is fed each message the runtime sends and answers
with what the client should do about it. The asyncio layer (``_driver``)
performs those actions; keeping the rules here makes each one testable
without sockets or timers.

The rules, in short:

- The first terminal message (the expected result, or an ``error_message``)
  ends the request; nothing after it belongs to the request.
- After :meth:`RequestTracker.abort` the request keeps reading until its
  terminal, so a persistent session stays in step, but no callback fires and
  the request ends in :class:`CancelledException` whatever the terminal was.
- A message this client cannot make sense of is skipped (and logged), except
  a malformed terminal, which still ends the request.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Literal, Union

from pydantic import ValidationError

from ._parse import TERMINAL_TYPES, UnknownMessage, message_type_of, parse_runtime_message
from .exceptions import AgentRuntimeError, CancelledException
from .messages import (
    ArtifactUploadRequestMessageInterface,
    AssistantMessageInterface,
    CommandExecutionResultMessageInterface,
    CommandOutputMessageInterface,
    ErrorMessageInterface,
    HeartbeatMessageInterface,
    ResultMessageInterface,
)

TerminalType = Literal["result_message", "command_execution_result_message"]
Progress = Union[AssistantMessageInterface, CommandOutputMessageInterface, HeartbeatMessageInterface]
WireResult = Union[ResultMessageInterface, CommandExecutionResultMessageInterface]


class RequestState(enum.Enum):
    RUNNING = "running"
    #: ``abort()`` was called; waiting for the terminal.
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
class Skip:
    """Nothing to do; ``reason`` is worth a log line."""

    reason: str


@dataclass(frozen=True)
class Finish:
    """The request is over: return ``result`` or raise ``error``."""

    result: WireResult | None = None
    error: AgentRuntimeError | CancelledException | None = None


Action = Union[Deliver, AnswerUpload, Skip, Finish]


class RequestTracker:
    """Decides, message by message, what one request's client does."""

    def __init__(self, terminal_type: TerminalType, cancelled_message: str) -> None:
        self.terminal_type = terminal_type
        self.cancelled_message = cancelled_message
        self.state = RequestState.RUNNING
        self.message_count = 0
        self.last_message_type: str | None = None

    @property
    def finished(self) -> bool:
        return self.state is RequestState.FINISHED

    def abort(self) -> bool:
        """Mark the request aborted; False if it had already finished."""
        if self.state is RequestState.RUNNING:
            self.state = RequestState.ABORTING
        return self.state is RequestState.ABORTING

    def receive(self, raw: dict[str, Any]) -> Action:
        if self.finished:
            raise RuntimeError("the request has already finished")
        self.message_count += 1
        message_type = message_type_of(raw)
        self.last_message_type = message_type
        try:
            message = parse_runtime_message(raw)
        except (UnknownMessage, ValidationError) as exc:
            return self._unreadable(raw, message_type, exc)

        if isinstance(message, (ResultMessageInterface, CommandExecutionResultMessageInterface)):
            if message.message_type == self.terminal_type:
                return self._finish(result=message)
            return self._finish(
                error=AgentRuntimeError(
                    f"the runtime answered with {message.message_type}, expected {self.terminal_type}",
                    {"code": "unexpected_terminal", "message_type": message.message_type},
                )
            )
        if isinstance(message, ErrorMessageInterface):
            return self._finish(error=AgentRuntimeError(message.error, metadata=message.metadata))
        if self.state is RequestState.ABORTING:
            return Skip(f"{message.message_type} after abort")
        if isinstance(message, (AssistantMessageInterface, CommandOutputMessageInterface, HeartbeatMessageInterface)):
            return Deliver(message)
        if isinstance(message, ArtifactUploadRequestMessageInterface):
            return AnswerUpload(message)
        return Skip(f"{message.message_type} is not part of a request")

    def connection_ended(self) -> Finish:
        """The message stream ended before a terminal arrived."""
        return self._finish(
            error=AgentRuntimeError(
                "the connection ended before the runtime sent the request's result",
                {"code": "connection_closed", "message_count": self.message_count},
            )
        )

    def _unreadable(self, raw: dict[str, Any], message_type: str | None, exc: Exception) -> Action:
        if message_type in TERMINAL_TYPES:
            # The runtime meant to end the request; treating the frame as noise
            # would leave the client waiting for a terminal that already came.
            return self._finish(
                error=AgentRuntimeError(
                    f"malformed {message_type} from the runtime: {_first_line(exc)}",
                    {"code": "invalid_message", "message": raw},
                )
            )
        return Skip(f"unreadable message from the runtime: {_first_line(exc)}")

    def _finish(self, result: WireResult | None = None, error: AgentRuntimeError | None = None) -> Finish:
        aborted = self.state is RequestState.ABORTING
        self.state = RequestState.FINISHED
        if aborted:
            return Finish(error=CancelledException(self.cancelled_message))
        return Finish(result=result, error=error)


def _first_line(exc: Exception) -> str:
    if isinstance(exc, ValidationError) and exc.errors():
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return f"{where}: {first['msg']}" if where else first["msg"]
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__

"""Building request messages and running one request over a message stream.

Shared by the one-shot client and the session: they differ only in where the
message stream comes from and what happens to the connection afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, TypeVar, Union

from pydantic import BaseModel, ValidationError

from ._driver import Clock, drive
from ._parse import field_path
from ._tracker import Progress, RequestState, RequestTracker, TerminalType, WireResult
from ._wire import check_conversation_id, check_output_format
from .exceptions import AgentRuntimeError
from .messages import (
    CancelMessage,
    CommandExecutionMessage,
    CommandExecutionResult,
    CommandExecutionResultMessageInterface,
    CommandInterface,
    InterruptMessage,
    InvocationMessage,
    QueryResult,
    ResultMessageInterface,
)
from .options import ExecuteCommandsOptions, OnArtifactUploadRequestCallback, QueryOptions, approval_timeout_ms

default_logger = logging.getLogger("runtimeuse_client")

#: What :meth:`RuntimeUseClient.stream` yields: progress as it happens, then
#: the :class:`QueryResult` last.
QueryEvent = Union[Progress, QueryResult]
#: What :meth:`RuntimeUseClient.stream_commands` yields; the
#: :class:`CommandExecutionResult` comes last.
CommandEvent = Union[Progress, CommandExecutionResult]


E = TypeVar("E")
R = TypeVar("R")
M = TypeVar("M", bound=BaseModel)


async def last_of(events: AsyncGenerator[E, None], expected: type[R]) -> R:
    """Run a stream to its end and return its last event, which must be a ``expected``."""
    last: object = None
    async with contextlib.aclosing(events):
        async for event in events:
            last = event
    if not isinstance(last, expected):
        raise AssertionError(f"the request ended without a {expected.__name__}")
    return last


@dataclass(frozen=True)
class PreparedRequest:
    message: dict[str, Any]
    options: QueryOptions | ExecuteCommandsOptions
    terminal_type: TerminalType
    cancelled_message: str

    @property
    def logger(self) -> logging.Logger:
        return self.options.logger or default_logger


def _refuse_unsendable(field: str, code: str, check: Callable[[Any], object], value: object) -> None:
    """Run a wire check before anything is sent: a value the runtime would
    refuse raises the ``AgentRuntimeError`` it would answer with."""
    try:
        check(value)
    except ValueError as exc:
        raise AgentRuntimeError(f"{field}: {exc}", {"code": code, "field": field}) from None


def _build(kind: type[M], /, **fields: Any) -> M:
    """The message, or the ``AgentRuntimeError(invalid_field)`` the runtime would
    answer it with (naming the field as the runtime does), before anything is sent."""
    try:
        return kind(**fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = field_path(fields, first["loc"], first["type"])
        problem = str(first["msg"]).removeprefix("Value error, ")
        raise AgentRuntimeError(f"{path}: {problem}", {"code": "invalid_field", "field": path}) from None


def _check_options(options: object, kind: type, call: str) -> None:
    """Options of another kind (``None``, a dict) are refused naming the call, before anything is sent."""
    if not isinstance(options, kind):
        raise TypeError(f"{call} options: expected {kind.__name__}, got {type(options).__name__}")


def prepare_query(prompt: str, options: QueryOptions) -> PreparedRequest:
    _check_options(options, QueryOptions, "query")
    _refuse_unsendable(
        "output_format_json_schema_str", "invalid_field", check_output_format, options.output_format_json_schema_str
    )
    _refuse_unsendable("conversation_id", "invalid_conversation_id", check_conversation_id, options.conversation_id)
    message = _build(
        InvocationMessage,
        user_prompt=prompt,
        system_prompt=options.system_prompt,
        model=options.model,
        output_format_json_schema_str=options.output_format_json_schema_str,
        source_id=options.source_id,
        agent_env=options.agent_env,
        agent=options.agent,
        secrets_to_redact=options.secrets_to_redact,
        artifacts_dirs=options.artifacts_dirs or None,
        artifacts_ignore_content=options.artifacts_ignore_content,
        pre_agent_invocation_commands=options.pre_agent_invocation_commands,
        post_agent_invocation_commands=options.post_agent_invocation_commands,
        pre_agent_downloadables=options.pre_agent_downloadables,
        conversation_id=options.conversation_id,
        # Sent only when asked for, so a query that uses none of them sends 0.15.1's frame.
        approval_policy=None if options.approval_policy == "never" else options.approval_policy,
        approval_timeout_ms=approval_timeout_ms(options),
        allow_questions=True if options.on_question is not None else None,
    )
    return PreparedRequest(message.model_dump(mode="json"), options, "result_message", "Query was cancelled")


def prepare_commands(commands: list[CommandInterface], options: ExecuteCommandsOptions) -> PreparedRequest:
    _check_options(options, ExecuteCommandsOptions, "execute_commands")
    message = _build(
        CommandExecutionMessage,
        source_id=options.source_id,
        secrets_to_redact=options.secrets_to_redact,
        commands=commands,
        artifacts_dirs=options.artifacts_dirs or None,
        artifacts_ignore_content=options.artifacts_ignore_content,
        pre_execution_downloadables=options.pre_execution_downloadables,
    )
    return PreparedRequest(
        message.model_dump(mode="json"),
        options,
        "command_execution_result_message",
        "Command execution was cancelled",
    )


class ActiveRequest:
    """A request in flight: what ``abort()`` needs to reach it.

    ``fallback_artifact_callback`` answers artifact offers when the request
    sets no callback of its own (a session's last one).
    """

    def __init__(
        self, prepared: PreparedRequest, fallback_artifact_callback: OnArtifactUploadRequestCallback | None = None
    ) -> None:
        self.prepared = prepared
        self.send_queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.send_queue.put_nowait(prepared.message)
        self.tracker = RequestTracker(prepared.terminal_type, prepared.cancelled_message)
        self.artifact_callback = prepared.options.on_artifact_upload_request or fallback_artifact_callback

    def abort(self) -> None:
        """Ask the runtime to cancel (once); the request still reads to its terminal."""
        if self.tracker.state is RequestState.RUNNING and self.tracker.abort():
            self.send_queue.put_nowait(CancelMessage().model_dump(mode="json"))

    def interrupt(self) -> None:
        """Ask the runtime to stop the agent's turn; the query then ends with a result."""
        if self.tracker.state is RequestState.RUNNING and self.prepared.terminal_type == "result_message":
            self.send_queue.put_nowait(InterruptMessage().model_dump(mode="json"))

    async def events(self, messages: AsyncIterator[dict[str, Any]]) -> AsyncGenerator[Progress | WireResult, None]:
        options = self.prepared.options
        logger = self.prepared.logger
        clock = Clock(options.timeout)
        clock.start()
        logger.info(
            "request started: %s source_id=%s timeout=%s idle_timeout=%s",
            self.prepared.message["message_type"],
            options.source_id,
            options.timeout,
            options.idle_timeout,
        )
        try:
            async for event in drive(
                messages, self.send_queue, self.tracker, options, self.artifact_callback, clock, logger
            ):
                yield event
        except TimeoutError:
            logger.warning("request timed out after %ss source_id=%s", options.timeout, options.source_id)
            raise
        finally:
            # Stopped on this side before its terminal (a limit, a callback
            # that raised, a stream left early): the runtime is told at once.
            # A session then reads up to the terminal before its next request.
            self.abort()


def query_event(event: Progress | WireResult) -> QueryEvent:
    """Progress passes through; the wire result becomes a :class:`QueryResult`."""
    if isinstance(event, ResultMessageInterface):
        return QueryResult.of(event.metadata, event.data)
    if isinstance(event, CommandExecutionResultMessageInterface):
        raise AssertionError("the tracker only finishes a query with a result_message")
    return event


def command_event(event: Progress | WireResult) -> CommandEvent:
    """Progress passes through; the wire result becomes a :class:`CommandExecutionResult`."""
    if isinstance(event, CommandExecutionResultMessageInterface):
        return CommandExecutionResult(results=event.results)
    if isinstance(event, ResultMessageInterface):
        raise AssertionError("the tracker only finishes commands with a command_execution_result_message")
    return event

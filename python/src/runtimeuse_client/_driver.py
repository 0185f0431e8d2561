"""Runs one request: reads messages, applies the tracker's decisions, and
enforces the request's time limits.

Every wait is bounded by the overall deadline (``timeout``, which raises
:class:`TimeoutError`) and, where one applies, by its own limit
(``idle_timeout`` and the callback timeouts, which raise
:class:`AgentRuntimeError` naming the limit in ``metadata["timeout_type"]``).
The limits are applied per wait rather than around the whole request so that
the streaming form, whose reader runs between waits, obeys them too.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

from ._tracker import (
    AnswerPrompt,
    AnswerUpload,
    Deliver,
    Finish,
    Progress,
    RequestState,
    RequestTracker,
    Skip,
    WireResult,
)
from .exceptions import AgentRuntimeError
from .messages import (
    ApprovalDecision,
    ApprovalRequestMessageInterface,
    ApprovalResponseMessage,
    ArtifactUploadRequestMessageInterface,
    ArtifactUploadResponseMessageInterface,
    AssistantMessageInterface,
    CommandOutputMessageInterface,
    HeartbeatMessageInterface,
    QuestionResponseMessage,
)
from .options import ExecuteCommandsOptions, OnArtifactUploadRequestCallback, QueryOptions

T = TypeVar("T")


class _Expired(Exception):
    """A bounded wait ran out; ``deadline`` says whether the overall timeout did."""

    def __init__(self, deadline: bool) -> None:
        super().__init__()
        self.deadline = deadline


@dataclass
class Clock:
    """The overall deadline of one request, in event-loop time."""

    timeout: float | None
    deadline: float | None = None

    def start(self) -> None:
        if self.timeout is not None:
            self.deadline = asyncio.get_running_loop().time() + self.timeout

    async def within(self, awaitable: Awaitable[T], limit: float | None) -> T:
        """Await ``awaitable`` for at most ``limit`` seconds and at most until
        the deadline; raise :class:`_Expired` saying which ran out."""
        remaining = None if self.deadline is None else self.deadline - asyncio.get_running_loop().time()
        if remaining is not None and (limit is None or remaining <= limit):
            seconds, by_deadline = remaining, True
        elif limit is not None:
            seconds, by_deadline = limit, False
        else:
            return await awaitable
        try:
            if NATIVE_TIMEOUT:
                return await _bounded_native(awaitable, max(0.0, seconds))
            return await _bounded_in_task(awaitable, max(0.0, seconds))
        except _LimitReached:
            raise _Expired(deadline=by_deadline) from None


class _LimitReached(Exception):
    pass


#: Python >= 3.11 bounds a wait in the calling task with asyncio.timeout
#: (no task per message); 3.10 runs the wait in a task of its own.
NATIVE_TIMEOUT = sys.version_info >= (3, 11)


async def _bounded_native(awaitable: Awaitable[T], seconds: float) -> T:
    if sys.version_info < (3, 11):  # pragma: no cover - narrowed for the type checker
        raise RuntimeError("asyncio.timeout needs Python 3.11")
    scope = asyncio.timeout(seconds)
    try:
        async with scope:
            return await awaitable
    except TimeoutError:
        # Only our own expiry counts: a TimeoutError raised *by* the awaited
        # code (a callback's own, say) propagates unchanged.
        if scope.expired():
            raise _LimitReached from None
        raise


async def _bounded_in_task(awaitable: Awaitable[T], seconds: float) -> T:
    # Not asyncio.wait_for: it cannot tell its own expiry from a TimeoutError
    # raised by the awaited code.
    task = asyncio.ensure_future(awaitable)
    try:
        done, _ = await asyncio.wait({task}, timeout=seconds)
    except BaseException:
        await _cancel_and_wait(task)
        raise
    if task in done:
        return task.result()
    await _cancel_and_wait(task)
    raise _LimitReached


async def _cancel_and_wait(task: asyncio.Future[Any]) -> None:
    """Cancel ``task`` and wait until it has really stopped, so that whatever
    it was driving (an async generator, say) is free to be closed next."""
    task.cancel()
    await asyncio.wait({task})
    if not task.cancelled():
        task.exception()  # retrieved: it is being discarded on purpose


def _timed_out(clock: Clock) -> TimeoutError:
    return TimeoutError(f"the request did not finish within its timeout of {clock.timeout}s")


async def drive(
    messages: AsyncIterator[dict[str, Any]],
    send_queue: asyncio.Queue[dict[str, Any]],
    tracker: RequestTracker,
    options: QueryOptions | ExecuteCommandsOptions,
    artifact_callback: OnArtifactUploadRequestCallback | None,
    clock: Clock,
    logger: logging.Logger,
) -> AsyncGenerator[Progress | WireResult, None]:
    """Yield each progress message as it is delivered, then the wire result.

    Callbacks in ``options`` run before the message is yielded; artifact
    offers are answered with ``artifact_callback`` (the request's, or its
    session's). Errors, cancellation and time limits are raised.
    """
    while True:
        try:
            raw = await clock.within(_next(messages), options.idle_timeout)
        except _Expired as expired:
            if expired.deadline:
                raise _timed_out(clock) from None
            raise AgentRuntimeError(
                f"no message from the runtime for {options.idle_timeout}s",
                {
                    "timeout_type": "idle_timeout",
                    "idle_timeout": options.idle_timeout,
                    "last_message_type": tracker.last_message_type,
                    "message_count": tracker.message_count,
                    "phase": "waiting_for_message",
                },
            ) from None
        action = tracker.connection_ended() if raw is None else tracker.receive(raw)

        if isinstance(action, Finish):
            if action.error is not None:
                logger.info("request ended: %s", action.error.__class__.__name__)
                raise action.error
            assert action.result is not None
            logger.info("request finished after %s messages", tracker.message_count)
            yield action.result
            return
        if isinstance(action, Skip):
            logger.debug("skipping a runtime message: %s", action.reason)
            continue
        if isinstance(action, AnswerUpload):
            await _answer_upload(action.request, send_queue, options, artifact_callback, clock, logger)
            continue
        if isinstance(action, AnswerPrompt):
            answer = await _unbounded(clock, _prompt_answer(action, options))
            # Stopped meanwhile: the runtime has ended the wait already.
            if tracker.state is RequestState.RUNNING:
                send_queue.put_nowait(answer)
            continue
        await _deliver(action, tracker, options, clock)
        yield action.message


async def _next(messages: AsyncIterator[dict[str, Any]]) -> dict[str, Any] | None:
    try:
        return await messages.__anext__()
    except StopAsyncIteration:
        return None


async def _deliver(
    action: Deliver,
    tracker: RequestTracker,
    options: QueryOptions | ExecuteCommandsOptions,
    clock: Clock,
) -> None:
    message = action.message
    if isinstance(message, AssistantMessageInterface) and options.on_assistant_message is not None:
        limit = options.assistant_callback_timeout
        try:
            await clock.within(options.on_assistant_message(message), limit)
        except _Expired as expired:
            if expired.deadline:
                raise _timed_out(clock) from None
            raise AgentRuntimeError(
                "on_assistant_message callback timed out",
                {
                    "timeout_type": "assistant_callback_timeout",
                    "timeout": limit,
                    "last_message_type": tracker.last_message_type,
                    "message_count": tracker.message_count,
                    "phase": "assistant_callback",
                },
            ) from None
    elif isinstance(message, CommandOutputMessageInterface) and options.on_command_output is not None:
        await _unbounded(clock, options.on_command_output(message))
    elif isinstance(message, HeartbeatMessageInterface) and options.on_heartbeat is not None:
        await _unbounded(clock, options.on_heartbeat(message))


async def _unbounded(clock: Clock, callback: Awaitable[T]) -> T:
    """A callback with no limit of its own, within the overall deadline."""
    try:
        return await clock.within(callback, None)
    except _Expired:
        raise _timed_out(clock) from None


async def _prompt_answer(action: AnswerPrompt, options: QueryOptions | ExecuteCommandsOptions) -> dict[str, Any]:
    """The wire answer to an approval or question request, from its callback.

    With no callback (the runtime asked for what this call did not offer) a
    tool call is denied and a question gets an empty answer.
    """
    request = action.request
    if isinstance(request, ApprovalRequestMessageInterface):
        on_approval = getattr(options, "on_approval_request", None)
        decision = (
            ApprovalDecision(decision="deny", message="no one is there to approve it")
            if on_approval is None
            else await on_approval(request)
        )
        decision = ApprovalDecision.model_validate(decision)
        return ApprovalResponseMessage(
            request_id=request.request_id, decision=decision.decision, message=decision.message
        ).model_dump(mode="json", exclude_none=True)
    on_question = getattr(options, "on_question", None)
    answer = "" if on_question is None else await on_question(request)
    return QuestionResponseMessage(request_id=request.request_id, answer=answer).model_dump(mode="json")


async def _answer_upload(
    request: ArtifactUploadRequestMessageInterface,
    send_queue: asyncio.Queue[dict[str, Any]],
    options: QueryOptions | ExecuteCommandsOptions,
    callback: OnArtifactUploadRequestCallback | None,
    clock: Clock,
    logger: logging.Logger,
) -> None:
    if callback is None:
        logger.warning("artifact upload request for %s, but no on_artifact_upload_request is set", request.filepath)
        return
    limit = options.artifact_upload_callback_timeout
    try:
        response = await clock.within(upload_response(callback, request), limit)
    except _Expired as expired:
        if expired.deadline:
            raise _timed_out(clock) from None
        raise AgentRuntimeError(
            "on_artifact_upload_request callback timed out",
            {
                "timeout_type": "artifact_upload_callback_timeout",
                "timeout": limit,
                "filename": request.filename,
                "filepath": request.filepath,
            },
        ) from None
    send_queue.put_nowait(response)


async def upload_response(
    callback: OnArtifactUploadRequestCallback,
    request: ArtifactUploadRequestMessageInterface,
) -> dict[str, Any]:
    """Call the artifact callback and build the wire answer to ``request``."""
    result = await callback(request)
    return ArtifactUploadResponseMessageInterface(
        filename=request.filename,
        filepath=request.filepath,
        presigned_url=result.presigned_url,
        content_type=result.content_type,
    ).model_dump(mode="json")

"""Reading a session's connection while no request is in flight.

The rules are docs/PROTOCOL.md's ("Clients"), shared with the TypeScript
client's idle pump:

- A request this side gave up on before its terminal (a limit, a callback
  that raised, a stream left early, ``abort()``) was sent a cancel. Its
  messages are read first, with nothing delivered, up to its terminal, within
  the resync limit; otherwise the session is out of step and its connection
  is closed.
- Then artifact offers are answered at once with the session's callback, so
  their uploads need not wait for the next request or the end of the session;
  with no callback they stay unanswered.
- Heartbeats are dropped.
- Anything else belongs to no request: a protocol violation, after which the
  connection is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from ._codes import CONNECTION_CLOSED, SESSION_OUT_OF_STEP, UNEXPECTED_MESSAGE
from ._driver import upload_response
from ._parse import UnknownMessage, malformed_frame, parse_runtime_message
from ._tracker import Finish, RequestTracker
from .exceptions import AgentRuntimeError
from .messages import ArtifactUploadRequestMessageInterface, HeartbeatMessageInterface, ResponseErrorMessageInterface
from .options import OnArtifactUploadRequestCallback
from .transports import ConnectedTransport


class BetweenRequests:
    """Reads the connection from the end of one request to the start of the next.

    Starts reading at once, sending what is queued on ``send_queue`` (the
    abandoned request's cancel) and the answers to offers. :meth:`stop`
    returns once nothing reads anymore:
    it waits for the abandoned request's terminal and for an answer being
    prepared, and interrupts a read that waits for a frame.
    """

    def __init__(
        self,
        connected: ConnectedTransport,
        send_queue: asyncio.Queue[dict[str, Any]],
        unsettled: RequestTracker | None,
        resync_timeout_s: float,
        artifact_callback: Callable[[], OnArtifactUploadRequestCallback | None],
        on_settled: Callable[[], None],
        on_ended: Callable[[AgentRuntimeError], None],
        logger: logging.Logger,
    ) -> None:
        self._connected = connected
        self._queue = send_queue
        self._unsettled = unsettled
        self._resync_timeout_s = resync_timeout_s
        self._artifact_callback = artifact_callback
        self._on_settled = on_settled
        self._on_ended = on_ended
        self._logger = logger
        self._stopping = False
        self._reading = False
        self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        self._stopping = True
        if self._reading:
            self._task.cancel()
        await asyncio.wait({self._task})

    async def _run(self) -> None:
        queue = self._queue
        messages = self._connected.request(queue)
        try:
            if self._unsettled is not None and not await self._settle(messages, self._unsettled):
                return
            self._on_settled()
            while not self._stopping:
                self._reading = True
                try:
                    raw = await messages.__anext__()
                except StopAsyncIteration:
                    await self._end(
                        AgentRuntimeError(
                            "the connection ended while the session was idle", {"code": CONNECTION_CLOSED}
                        )
                    )
                    return
                finally:
                    self._reading = False
                problem = await self._handle(raw, queue)
                if problem is not None:
                    await self._end(problem)
                    return
        except asyncio.CancelledError:
            if not self._stopping:
                raise
        finally:
            await messages.aclose()

    async def _settle(self, messages: Any, tracker: RequestTracker) -> bool:
        """Read the abandoned request's messages up to its terminal; False if the session ended."""

        async def until_terminal() -> Finish:
            async for raw in messages:
                action = tracker.receive(raw)
                if isinstance(action, Finish):
                    return action
            return tracker.connection_ended()

        try:
            await asyncio.wait_for(until_terminal(), self._resync_timeout_s)
        except asyncio.TimeoutError:
            await self._end(
                AgentRuntimeError(
                    "the session is out of step: the runtime did not finish the previous request",
                    {"code": SESSION_OUT_OF_STEP, "resync_timeout": self._resync_timeout_s},
                )
            )
            return False
        if tracker.connection_error is not None:
            await self._end(tracker.connection_error)
            return False
        return True

    async def _handle(self, raw: Any, queue: asyncio.Queue[dict[str, Any]]) -> AgentRuntimeError | None:
        """Apply the rules to one message read between requests; a violation is returned."""
        try:
            message = parse_runtime_message(raw)
        except (UnknownMessage, ValidationError) as exc:
            return malformed_frame(raw, exc)
        # A refused late answer belongs to no request and changes nothing.
        if isinstance(message, (HeartbeatMessageInterface, ResponseErrorMessageInterface)):
            return None
        if not isinstance(message, ArtifactUploadRequestMessageInterface):
            return AgentRuntimeError(
                f"the runtime sent {message.message_type} while no request was in flight",
                {"code": UNEXPECTED_MESSAGE, "message_type": message.message_type},
            )
        callback = self._artifact_callback()
        if callback is None:
            self._logger.warning("artifact upload request for %s between requests, and no callback", message.filepath)
            return None
        try:
            queue.put_nowait(await upload_response(callback, message))
        except Exception:
            self._logger.exception("the artifact callback failed between requests for %s", message.filepath)
        return None

    async def _end(self, error: AgentRuntimeError) -> None:
        self._logger.warning("the session's connection is no longer usable: %s", error.error)
        self._on_ended(error)
        with contextlib.suppress(Exception):
            await self._connected.close()

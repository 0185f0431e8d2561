"""A persistent session: one connection, one request after another."""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections.abc import AsyncGenerator
from typing import Any

from pydantic import ValidationError

from ._between import BetweenRequests
from ._driver import upload_response
from ._parse import message_type_of
from ._requests import (
    ActiveRequest,
    PreparedRequest,
    default_logger,
)
from ._surface import RequestMethods
from ._tracker import Progress, RequestTracker, WireResult
from .exceptions import AgentRuntimeError
from .messages import (
    ArtifactManifestEntry,
    ArtifactUploadRequestMessageInterface,
    EndSessionConfirmMessage,
    Usage,
)
from .options import OnArtifactUploadRequestCallback
from .transports import ConnectedTransport

#: How long a session waits for the terminal of a request it gave up on
#: (timeout, failing callback, abandoned stream) before the next request.
RESYNC_TIMEOUT_S = 30.0


class SessionState(enum.Enum):
    IDLE = "idle"
    RUNNING = "running"
    #: A request ended on this side before its terminal arrived; it was sent
    #: a cancel, and its terminal is read before the next request starts, so
    #: the two stay apart.
    UNSETTLED = "unsettled"
    ENDING = "ending"
    #: Ended, or its connection can no longer be used.
    CLOSED = "closed"


class RuntimeUseSession(RequestMethods):
    """Runs queries and command executions one at a time over one connection.

    Calls made concurrently wait their turn. Obtain one from
    :meth:`RuntimeUseClient.session`, which ends it on exit: the runtime then
    finishes pending artifact uploads (late upload requests are answered with
    the last ``on_artifact_upload_request`` given), and its manifest becomes
    :attr:`artifacts`. Between requests the session keeps reading (see
    ``_between``): artifact offers are answered at once with that callback,
    which also answers those of requests that set none.

    If the connection ends, or the runtime breaks the protocol, every later
    call raises :class:`AgentRuntimeError` saying so, with the code of the
    reason (``connection_closed``, ``unexpected_message``, ...).
    """

    def __init__(self, connected: ConnectedTransport) -> None:
        self._connected = connected
        self._lock = asyncio.Lock()
        self._state = SessionState.IDLE
        self._active: ActiveRequest | None = None
        self._last_artifact_cb: OnArtifactUploadRequestCallback | None = None
        self._end_session_timeout_s: float = 60.0
        self._confirm: EndSessionConfirmMessage | None = None
        #: Why the connection can no longer be used, once it cannot.
        self._ended: AgentRuntimeError | None = None
        self._between: BetweenRequests | None = None
        self._read_between_requests(None)

    @property
    def state(self) -> SessionState:
        return self._state

    @property
    def end_session_confirm(self) -> EndSessionConfirmMessage | None:
        """The runtime's confirm message once the session has ended."""
        return self._confirm

    @property
    def artifacts(self) -> list[ArtifactManifestEntry] | None:
        """After the session ends: every artifact the runtime offered and what
        became of it. ``None`` if the runtime sent no manifest."""
        return None if self._confirm is None else self._confirm.artifacts

    def abort(self) -> None:
        """Cancel the request in flight, if any.

        The call raises :class:`CancelledException` once the runtime has sent
        the request's terminal; the session stays usable.
        """
        if self._active is not None:
            self._active.abort()

    def interrupt(self) -> None:
        """extension: stop the agent's turn of the query in flight, if any.

        The query then returns what the agent produced so far, with
        ``interrupted`` set; post-agent commands still run.
        """
        if self._active is not None:
            self._active.interrupt()

    @property
    def usage(self) -> Usage | None:
        """extension: the usage summed over the session's requests, once the
        session ended (``None`` when the runtime reported none)."""
        return None if self._confirm is None else self._confirm.usage

    async def _run(self, prepared: PreparedRequest) -> AsyncGenerator[Progress | WireResult, None]:
        async with self._lock:
            await self._stop_reading()
            if self._ended is not None:
                raise self._ended_error()
            if self._state in (SessionState.ENDING, SessionState.CLOSED):
                raise RuntimeError("this session has ended; open a new one")
            callback = prepared.options.on_artifact_upload_request
            if callback is not None:
                self._last_artifact_cb = callback
            active = ActiveRequest(prepared, fallback_artifact_callback=self._last_artifact_cb)
            self._active = active
            self._state = SessionState.RUNNING
            messages = self._connected.request(active.send_queue)
            try:
                async for event in active.events(messages):
                    yield event
            finally:
                self._active = None
                await messages.aclose()
                tracker = active.tracker
                if tracker.connection_error is not None:
                    self._connection_ended(tracker.connection_error)
                    with contextlib.suppress(Exception):
                        await self._connected.close()
                elif self._state is SessionState.RUNNING:
                    self._state = SessionState.IDLE if tracker.finished else SessionState.UNSETTLED
                    if tracker.finished:
                        self._read_between_requests(None)
                    else:
                        # The request's cancel may still be waiting in its queue (a timeout closes the
                        # request's message stream before the cancel is queued): the reader sends it.
                        self._read_between_requests(tracker, active.send_queue)

    def _read_between_requests(
        self, unsettled: RequestTracker | None, send_queue: asyncio.Queue[dict[str, Any]] | None = None
    ) -> None:
        def settled() -> None:
            if self._state is SessionState.UNSETTLED:
                self._state = SessionState.IDLE

        self._between = BetweenRequests(
            self._connected,
            send_queue or asyncio.Queue(),
            unsettled,
            RESYNC_TIMEOUT_S,
            lambda: self._last_artifact_cb,
            on_settled=settled,
            on_ended=self._connection_ended,
            logger=default_logger,
        )

    async def _stop_reading(self) -> None:
        between, self._between = self._between, None
        if between is not None:
            await between.stop()

    def _connection_ended(self, reason: AgentRuntimeError) -> None:
        self._ended = reason
        self._state = SessionState.CLOSED

    def _ended_error(self) -> AgentRuntimeError:
        reason = self._ended
        assert reason is not None
        error = AgentRuntimeError(
            f"the session's connection has ended ({reason.error}); open a new one", {"code": reason.code}
        )
        error.__cause__ = reason
        return error

    async def _end_session(self) -> None:
        """Send ``end_session_message`` and wait for the confirm, answering
        late artifact upload requests meanwhile. Called on leaving
        :meth:`RuntimeUseClient.session`."""
        if self._state in (SessionState.ENDING, SessionState.CLOSED):
            # A reader that found the connection unusable may still be closing it.
            await self._stop_reading()
            return
        self.abort()
        try:
            await asyncio.wait_for(self._lock.acquire(), self._end_session_timeout_s)
        except asyncio.TimeoutError:
            # A request still holds the connection; ending the session would
            # mean two readers on one socket. Closing it cancels the request.
            default_logger.warning("a request was still running when the session ended; closing without end_session")
            self._state = SessionState.CLOSED
            return
        try:
            await self._stop_reading()
            if self._ended is not None:
                return
            self._state = SessionState.ENDING
            end_session = getattr(self._connected, "end_session", None)
            if end_session is not None:
                confirm = await end_session(on_message=self._answer_late_upload, timeout_s=self._end_session_timeout_s)
                if isinstance(confirm, dict):
                    try:
                        self._confirm = EndSessionConfirmMessage.model_validate(confirm)
                    except ValidationError:
                        default_logger.warning("malformed end_session_confirm_message: %s", confirm)
        finally:
            self._state = SessionState.CLOSED
            self._lock.release()

    async def _answer_late_upload(self, message: dict[str, Any]) -> dict[str, Any] | None:
        if message_type_of(message) != "artifact_upload_request_message" or self._last_artifact_cb is None:
            return None
        try:
            request = ArtifactUploadRequestMessageInterface.model_validate(message)
        except ValidationError:
            default_logger.warning("malformed artifact upload request while ending the session: %s", message)
            return None
        return await upload_response(self._last_artifact_cb, request)

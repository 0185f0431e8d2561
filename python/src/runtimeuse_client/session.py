"""A persistent session: one connection, one request after another."""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections.abc import AsyncGenerator
from typing import Any

from pydantic import ValidationError

from ._driver import upload_response
from ._parse import TERMINAL_TYPES, message_type_of
from ._requests import (
    ActiveRequest,
    PreparedRequest,
    default_logger,
)
from ._surface import RequestMethods
from ._tracker import Progress, WireResult
from .exceptions import AgentRuntimeError
from .messages import (
    ArtifactManifestEntry,
    ArtifactUploadRequestMessageInterface,
    CancelMessage,
    EndSessionConfirmMessage,
)
from .options import OnArtifactUploadRequestCallback
from .transports import ConnectedTransport

#: How long a session waits for the terminal of a request it gave up on
#: (timeout, failing callback, abandoned stream) before the next request.
RESYNC_TIMEOUT_S = 30.0


class SessionState(enum.Enum):
    IDLE = "idle"
    RUNNING = "running"
    #: A request ended on this side before its terminal arrived; the next
    #: request first cancels it and reads that terminal, so the two stay apart.
    UNSETTLED = "unsettled"
    ENDING = "ending"
    CLOSED = "closed"


class RuntimeUseSession(RequestMethods):
    """Runs queries and command executions one at a time over one connection.

    Calls made concurrently wait their turn. Obtain one from
    :meth:`RuntimeUseClient.session`, which ends it on exit: the runtime then
    finishes pending artifact uploads (late upload requests are answered with
    the last ``on_artifact_upload_request`` given), and its manifest becomes
    :attr:`artifacts`.
    """

    def __init__(self, connected: ConnectedTransport) -> None:
        self._connected = connected
        self._lock = asyncio.Lock()
        self._state = SessionState.IDLE
        self._active: ActiveRequest | None = None
        self._last_artifact_cb: OnArtifactUploadRequestCallback | None = None
        self._end_session_timeout_s: float = 60.0
        self._confirm: EndSessionConfirmMessage | None = None

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

    async def _run(self, prepared: PreparedRequest) -> AsyncGenerator[Progress | WireResult, None]:
        async with self._lock:
            if self._state in (SessionState.ENDING, SessionState.CLOSED):
                raise RuntimeError("this session has ended; open a new one")
            if self._state is SessionState.UNSETTLED:
                await self._resync()
            callback = prepared.options.on_artifact_upload_request
            if callback is not None:
                self._last_artifact_cb = callback
            active = ActiveRequest(prepared)
            self._active = active
            self._state = SessionState.RUNNING
            messages = self._connected.request(active.send_queue)
            try:
                async for event in active.events(messages):
                    yield event
            finally:
                self._active = None
                self._state = SessionState.IDLE if active.tracker.finished else SessionState.UNSETTLED
                await messages.aclose()

    async def _resync(self) -> None:
        """Cancel the request given up on and read up to its terminal."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        queue.put_nowait(CancelMessage().model_dump(mode="json"))
        messages = self._connected.request(queue)

        async def until_terminal() -> bool:
            async for raw in messages:
                if message_type_of(raw) in TERMINAL_TYPES:
                    return True
            return False

        try:
            found = await asyncio.wait_for(until_terminal(), RESYNC_TIMEOUT_S)
        except asyncio.TimeoutError:
            found = False
        finally:
            await messages.aclose()
        if not found:
            raise AgentRuntimeError(
                "the session is out of step: the runtime did not finish the previous request",
                {"code": "session_out_of_step", "resync_timeout": RESYNC_TIMEOUT_S},
            )
        self._state = SessionState.IDLE

    async def _end_session(self) -> None:
        """Send ``end_session_message`` and wait for the confirm, answering
        late artifact upload requests meanwhile. Called on leaving
        :meth:`RuntimeUseClient.session`."""
        if self._state in (SessionState.ENDING, SessionState.CLOSED):
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
            if self._state is SessionState.UNSETTLED:
                with contextlib.suppress(AgentRuntimeError):
                    await self._resync()
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

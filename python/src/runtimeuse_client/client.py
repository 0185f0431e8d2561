"""The client: one-shot requests, streamed requests, and sessions."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Mapping

from ._requests import (
    ActiveRequest,
    PreparedRequest,
)
from ._resume import DEFAULT_MAX_RECONNECT_DELAY_S, OnReconnect
from ._surface import RequestMethods
from ._tracker import Progress, WireResult
from .session import RuntimeUseSession
from .transports import Transport, WebSocketTransport

__all__ = ["RuntimeUseClient", "RuntimeUseSession"]


class RuntimeUseClient(RequestMethods):
    """Talks to a runtimeuse runtime.

    Give either ``ws_url`` (the built-in WebSocket transport is used, with
    ``token`` sent as a bearer header and ``headers`` added to the handshake)
    or your own ``transport``; ``transport`` wins when both are given.

    :meth:`query` and :meth:`execute_commands` open a connection per call;
    :meth:`session` keeps one open for several calls. Each raises
    :class:`AgentRuntimeError` when the request fails,
    :class:`CancelledException` after :meth:`abort`, and
    :class:`TimeoutError` past ``options.timeout``.

    The built-in transport resumes a dropped connection by itself (see
    :class:`WebSocketTransport`): ``reconnect=False`` turns that off,
    ``max_reconnect_attempts`` and ``max_reconnect_delay`` (seconds) bound
    it, ``on_reconnect`` is told of each resume, and a connection that cannot
    be resumed raises :class:`ConnectionLostError`.
    """

    def __init__(
        self,
        ws_url: str | None = None,
        transport: Transport | None = None,
        *,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
        reconnect: bool = True,
        max_reconnect_attempts: int | None = None,
        max_reconnect_delay: float = DEFAULT_MAX_RECONNECT_DELAY_S,
        on_reconnect: OnReconnect | None = None,
    ) -> None:
        if transport is not None:
            if token is not None or headers is not None:
                raise ValueError("token and headers configure the built-in WebSocket transport; set them on yours")
            self._transport: Transport = transport
        elif ws_url is not None:
            self._transport = WebSocketTransport(
                ws_url,
                token=token,
                headers=headers,
                reconnect=reconnect,
                max_reconnect_attempts=max_reconnect_attempts,
                max_reconnect_delay=max_reconnect_delay,
                on_reconnect=on_reconnect,
            )
        else:
            raise ValueError("give ws_url or transport")
        self._active: set[ActiveRequest] = set()

    def abort(self) -> None:
        """Cancel this client's one-shot calls in flight.

        Each raises :class:`CancelledException` once the runtime has ended
        it. Calls that start later are not affected. For a session, use
        :meth:`RuntimeUseSession.abort`.
        """
        for active in list(self._active):
            active.abort()

    def interrupt(self) -> None:
        """extension: stop the agent's turn of this client's one-shot queries in flight.

        Each then returns what its agent produced so far, with
        ``interrupted`` set. Command executions are not affected.
        """
        for active in list(self._active):
            active.interrupt()

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[RuntimeUseSession]:
        """Open a connection for several requests; it is ended on exit (see
        :class:`RuntimeUseSession`). Needs a transport with ``connect()``."""
        connect = getattr(self._transport, "connect", None)
        if connect is None:
            raise TypeError("this transport cannot hold a session open: it has no connect() (see PersistentTransport)")
        async with connect() as connected:
            session = RuntimeUseSession(connected)
            try:
                yield session
            finally:
                await session._end_session()

    async def _run(self, prepared: PreparedRequest) -> AsyncGenerator[Progress | WireResult, None]:
        active = ActiveRequest(prepared)
        self._active.add(active)
        messages = self._transport(send_queue=active.send_queue)
        try:
            async for event in active.events(messages):
                yield event
        finally:
            self._active.discard(active)
            await messages.aclose()

"""The WebSocket transport: one JSON object per text frame."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from .._parse import unreadable_frame
from .._resume import DEFAULT_MAX_RECONNECT_DELAY_S, OnReconnect, ReconnectSettings, ResumableSocket, resumable_url
from .transport import EndSessionMessageHandler

_logger = logging.getLogger(__name__)

#: How long closing a request waits for messages the client already queued
#: (say, an artifact upload response queued just before the terminal arrived)
#: to go out before it gives up on them.
SEND_FLUSH_TIMEOUT_S = 5.0
#: How often the connection pings the runtime; a missing pong for as long drops it.
DEFAULT_PING_INTERVAL_S = 20.0
#: How long a resumable connection waits for the runtime's side of a close
#: handshake (at most ``ping_interval``). A connection that missed its pong is
#: closed this way; on a dead link nothing answers, and the resume must not
#: wait (websockets' default is 10 s).
CLOSE_TIMEOUT_S = 1.0


def _decode(frame: str | bytes | dict[str, Any]) -> dict[str, Any]:
    """A frame as a dict; anything else is wrapped so the client can report it."""
    if isinstance(frame, dict):
        return frame
    if isinstance(frame, bytes):
        return unreadable_frame(frame.decode("utf-8", "replace"), binary=True)
    try:
        value = json.loads(frame)
    except ValueError:
        return unreadable_frame(frame)
    return value if isinstance(value, dict) else unreadable_frame(frame)


class ConnectedWebSocketTransport:
    """An open WebSocket that carries one request after another."""

    def __init__(self, ws: ClientConnection | ResumableSocket) -> None:
        self._ws = ws

    async def request(self, send_queue: asyncio.Queue[dict[str, Any]]) -> AsyncGenerator[dict[str, Any], None]:
        """Send what the client queues and yield what the runtime sends.

        Ends quietly when the connection closes. Closing the generator stops
        the sending side after a bounded flush; the socket stays open.
        """
        sender = asyncio.ensure_future(self._send_from(send_queue))
        resumes_before = self._ws.reconnects if isinstance(self._ws, ResumableSocket) else 0
        try:
            async for frame in self._ws:
                message = _decode(frame)
                if isinstance(self._ws, ResumableSocket) and message.get("message_type") == "result_message":
                    # The number of resumes during this request, in the result's metadata.
                    resumes = self._ws.reconnects - resumes_before
                    if resumes > 0 and isinstance(message.get("metadata"), dict):
                        message["metadata"]["reconnects"] = resumes
                yield message
        except ConnectionClosed:
            return
        finally:
            await self._stop_sender(sender, send_queue)

    async def end_session(
        self,
        on_message: EndSessionMessageHandler | None = None,
        timeout_s: float = 60.0,
    ) -> dict[str, Any] | None:
        """Ask the runtime to end the session and read until it confirms.

        Messages arriving meanwhile (late artifact upload requests) go to
        ``on_message``; what it returns is sent back. Returns the confirm
        message, or ``None`` on timeout or if the connection closed first.
        """
        try:
            await self._ws.send(json.dumps({"message_type": "end_session_message"}))
        except ConnectionClosed:
            return None
        try:
            return await asyncio.wait_for(self._read_until_confirm(on_message), timeout_s)
        except asyncio.TimeoutError:
            _logger.warning("no end_session_confirm_message within %ss; closing anyway", timeout_s)
            return None

    async def close(self) -> None:
        """Close the socket (without ending the session first)."""
        await self._ws.close()

    async def _read_until_confirm(self, on_message: EndSessionMessageHandler | None) -> dict[str, Any] | None:
        try:
            async for frame in self._ws:
                message = _decode(frame)
                if message.get("message_type") == "end_session_confirm_message":
                    return message
                if on_message is None:
                    continue
                try:
                    reply = await on_message(message)
                except Exception:
                    _logger.exception("message handler failed while the session was ending")
                    continue
                if reply is not None:
                    await self._ws.send(json.dumps(reply))
        except ConnectionClosed:
            pass
        return None

    async def _send_from(self, send_queue: asyncio.Queue[dict[str, Any]]) -> None:
        while True:
            message = await send_queue.get()
            try:
                await self._ws.send(json.dumps(message))
            except ConnectionClosed:
                # The reading side sees the close too and ends the request.
                return
            finally:
                send_queue.task_done()

    async def _stop_sender(self, sender: asyncio.Future[None], send_queue: asyncio.Queue[dict[str, Any]]) -> None:
        if not sender.done():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(send_queue.join()), SEND_FLUSH_TIMEOUT_S)
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await sender


class WebSocketTransport:
    """Connects to a runtime at ``ws_url``.

    Calling it runs one request on a fresh connection (``RuntimeUseClient.query``);
    :meth:`connect` opens one for a session. ``token`` is sent as
    ``Authorization: Bearer <token>``; ``headers`` are added to the opening
    handshake. Frames have no size limit: a result is as large as the runtime
    makes it.

    With ``reconnect`` (the default) the connection asks to be resumable and,
    after a drop, reconnects with exponential backoff and full jitter (capped
    at ``max_reconnect_delay`` seconds, at most ``max_reconnect_attempts``
    attempts, never past the runtime's grace window) and resumes where it
    was, or raises :class:`ConnectionLostError`. ``on_reconnect`` is called
    after each resume. ``ping_interval`` (seconds) bounds how long a silent
    stall goes unnoticed: a pong missing one interval after its ping ends the
    connection (the close handshake is given at most a second) and the resume
    starts.
    """

    def __init__(
        self,
        ws_url: str,
        *,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
        open_timeout: float = 60.0,
        reconnect: bool = True,
        max_reconnect_attempts: int | None = None,
        max_reconnect_delay: float = DEFAULT_MAX_RECONNECT_DELAY_S,
        on_reconnect: OnReconnect | None = None,
        ping_interval: float = DEFAULT_PING_INTERVAL_S,
    ) -> None:
        if max_reconnect_attempts is not None and max_reconnect_attempts < 1:
            raise ValueError("max_reconnect_attempts must be at least 1, or None for no limit")
        if max_reconnect_delay <= 0 or ping_interval <= 0:
            raise ValueError("max_reconnect_delay and ping_interval must be positive numbers of seconds")
        self.ws_url = ws_url
        self.open_timeout = open_timeout
        self._headers = _handshake_headers(token, headers)
        self.ping_interval = ping_interval
        self._reconnect = (
            ReconnectSettings(max_reconnect_attempts, max_reconnect_delay, open_timeout, on_reconnect)
            if reconnect
            else None
        )

    async def __call__(self, send_queue: asyncio.Queue[dict[str, Any]]) -> AsyncGenerator[dict[str, Any], None]:
        async with self.connect() as connected:
            messages = connected.request(send_queue)
            try:
                async for message in messages:
                    yield message
            finally:
                await messages.aclose()

    @contextlib.asynccontextmanager
    async def connect(self) -> AsyncIterator[ConnectedWebSocketTransport]:
        """Open a connection for a session; it is closed on exit."""
        _logger.debug("connecting to %s", self.ws_url)
        if self._reconnect is not None:
            url = resumable_url(self.ws_url)
            socket = ResumableSocket(
                await self._open(url, self._headers, self.open_timeout), url, self._headers, self._open, self._reconnect
            )
            try:
                yield ConnectedWebSocketTransport(socket)
            finally:
                await socket.close()
            return
        async with connect(
            self.ws_url,
            additional_headers=self._headers or None,
            open_timeout=self.open_timeout,
            max_size=None,
        ) as ws:
            yield ConnectedWebSocketTransport(ws)

    async def _open(self, url: str, headers: dict[str, str], timeout: float) -> ClientConnection:
        return await connect(
            url,
            additional_headers=headers or None,
            open_timeout=timeout,
            max_size=None,
            ping_interval=self.ping_interval,
            ping_timeout=self.ping_interval,
            close_timeout=min(self.ping_interval, CLOSE_TIMEOUT_S),
        )


def _handshake_headers(token: str | None, headers: Mapping[str, str] | None) -> dict[str, str]:
    merged = dict(headers or {})
    if token is not None:
        if not token:
            raise ValueError("token must be a non-empty string")
        if any(name.lower() == "authorization" for name in merged):
            raise ValueError("pass either token or an Authorization header, not both")
        merged["Authorization"] = f"Bearer {token}"
    return merged

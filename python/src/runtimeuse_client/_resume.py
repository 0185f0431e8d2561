"""Resumable connections (docs/PROTOCOL.md, "Resumable connections").

:class:`ResumableSocket` stands where the WebSocket stood for
:class:`ConnectedWebSocketTransport`: it yields the runtime's messages as
dicts, sends the client's frames, and closes. Underneath, once the runtime
has announced a session, it numbers the client's frames, drops runtime frames
it already has (by ``seq``), acknowledges what it received, and after a drop
reconnects with backoff and resumes: the requests above it never see the
drop. When the session cannot be resumed it raises
:class:`ConnectionLostError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidStatus

from .exceptions import ConnectionLostError

#: Acknowledge received frames at least this often.
ACK_EVERY_MESSAGES = 256
ACK_QUIET_S = 0.1
#: The first reconnect delay's upper bound; each attempt doubles it, up to the maximum.
RECONNECT_BASE_DELAY_S = 0.1
#: Default cap on the delay between reconnect attempts.
DEFAULT_MAX_RECONNECT_DELAY_S = 5.0
RESUME_SECRET_HEADER = "RuntimeUse-Resume-Secret"
#: Close codes after which there is nothing to resume: the session ended, was resumed elsewhere, or has a gap.
_FINAL_CODES = frozenset({1000, 1001, 4001, 4002})
_CONTROL_TYPES = frozenset({"session_message", "resumed_message", "ack_message"})

OnReconnect = Callable[[dict[str, Any]], Awaitable[None] | None]
Opener = Callable[[str, dict[str, str], float], Awaitable[ClientConnection]]


@dataclass
class ReconnectSettings:
    """How a resumable connection reconnects."""

    max_attempts: int | None = None
    max_delay_s: float = DEFAULT_MAX_RECONNECT_DELAY_S
    open_timeout_s: float = 60.0
    on_reconnect: OnReconnect | None = None


def resumable_url(url: str) -> str:
    """``url`` asking for a resumable connection (``?resumable=1``)."""
    return _with_query(url, {"resumable": "1"})


def _with_query(url: str, extra: dict[str, str], drop: tuple[str, ...] = ()) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in extra and k not in drop]
    query.extend(extra.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def reconnect_delay(attempt: int, max_delay_s: float) -> float:
    """Full-jitter exponential backoff."""
    ceiling = min(max_delay_s, RECONNECT_BASE_DELAY_S * 2 ** min(attempt - 1, 30))
    return random.uniform(0, ceiling)


class _Link:
    """The client side of one announced session, without I/O."""

    def __init__(self, announced: dict[str, Any]) -> None:
        self.session_id = str(announced["session_id"])
        self.secret = str(announced["resume_secret"])
        self.grace_s = float(announced["resume_grace_ms"]) / 1000
        self.last_received = 0
        self.last_acked = 0
        self.next_own = 1
        self.unacked: OrderedDict[int, str] = OrderedDict()

    def number(self, text: str) -> str:
        seq = self.next_own
        self.next_own += 1
        numbered = f'{text[:-1]}{"," if len(text) > 2 else ""}"seq":{seq}}}'
        self.unacked[seq] = numbered
        return numbered

    def acknowledged(self, seq: int) -> None:
        while self.unacked and next(iter(self.unacked)) <= seq:
            self.unacked.popitem(last=False)


class ResumableSocket:
    """A WebSocket that survives drops once the runtime announced a session."""

    def __init__(
        self, ws: ClientConnection, url: str, headers: dict[str, str], open_ws: Opener, settings: ReconnectSettings
    ) -> None:
        self._ws = ws
        self._url = url
        self._headers = headers
        self._open = open_ws
        self._settings = settings
        self._link: _Link | None = None
        self._resuming = False
        self._closing = False
        self._ack_handle: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        #: Resumes so far.
        self.reconnects = 0

    def __aiter__(self) -> AsyncIterator[dict[str, Any] | str | bytes]:
        return self._frames()

    async def _frames(self) -> AsyncIterator[dict[str, Any] | str | bytes]:
        while True:
            try:
                frame = await self._ws.recv()
            except ConnectionClosed as closed:
                if not self._should_resume(closed):
                    raise
                await self._resume(closed)
                continue
            message = self._take(frame)
            if message is not None:
                yield message

    async def send(self, text: str) -> None:
        """Sends one client frame; once a session is announced it is numbered and re-sent after a resume if needed."""
        link = self._link
        if link is None:
            await self._ws.send(text)
            return
        numbered = link.number(text)
        if self._resuming:
            return
        with contextlib.suppress(ConnectionClosed):
            # A drop is seen by the reader, which resumes and sends this again.
            await self._ws.send(numbered)

    async def close(self) -> None:
        """Ends the session: a close with 1000, which the runtime takes as the end."""
        self._closing = True
        if self._ack_handle is not None:
            self._ack_handle.cancel()
        await self._ws.close()

    def _take(self, frame: str | bytes) -> dict[str, Any] | str | bytes | None:
        """A frame for the client, or None for a control frame or a duplicate."""
        if isinstance(frame, bytes):
            return frame
        try:
            value = json.loads(frame)
        except ValueError:
            return frame
        if not isinstance(value, dict):
            return frame
        kind = value.get("message_type")
        if kind in _CONTROL_TYPES:
            self._control(value)
            return None
        seq = value.pop("seq", None)
        link = self._link
        if link is not None and isinstance(seq, int) and not isinstance(seq, bool):
            if seq <= link.last_received:
                return None
            link.last_received = seq
            self._schedule_ack()
        return value

    def _control(self, value: dict[str, Any]) -> None:
        kind = value.get("message_type")
        if kind == "session_message" and self._link is None:
            with contextlib.suppress(KeyError, TypeError, ValueError):
                self._link = _Link(value)
        elif kind == "ack_message" and self._link is not None and isinstance(value.get("seq"), int):
            self._link.acknowledged(int(value["seq"]))

    def _should_resume(self, closed: ConnectionClosed) -> bool:
        if self._link is None or self._closing:
            return False
        code = closed.rcvd.code if closed.rcvd is not None else None
        return code not in _FINAL_CODES

    def _schedule_ack(self) -> None:
        link = self._link
        if link is None or self._resuming:
            return
        if link.last_received - link.last_acked >= ACK_EVERY_MESSAGES:
            self._spawn(self._send_ack())
        elif self._ack_handle is None:
            self._ack_handle = asyncio.get_running_loop().call_later(ACK_QUIET_S, lambda: self._spawn(self._send_ack()))

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_ack(self) -> None:
        if self._ack_handle is not None:
            self._ack_handle.cancel()
        self._ack_handle = None
        link = self._link
        if link is None or self._resuming or self._closing or link.last_received == link.last_acked:
            return
        link.last_acked = link.last_received
        with contextlib.suppress(ConnectionClosed):
            await self._ws.send(json.dumps({"message_type": "ack_message", "seq": link.last_acked}))

    async def _resume(self, dropped: ConnectionClosed) -> None:
        link = self._link
        assert link is not None
        self._resuming = True
        if self._ack_handle is not None:
            self._ack_handle.cancel()
            self._ack_handle = None
        settings = self._settings
        since = time.monotonic()
        attempts = 0
        last: BaseException = dropped
        while True:
            elapsed = time.monotonic() - since
            if (settings.max_attempts is not None and attempts >= settings.max_attempts) or elapsed >= link.grace_s:
                break
            attempts += 1
            await asyncio.sleep(min(reconnect_delay(attempts, settings.max_delay_s), link.grace_s - elapsed))
            remaining = link.grace_s - (time.monotonic() - since)
            url = _with_query(
                self._url, {"resume": link.session_id, "last_seq": str(link.last_received)}, drop=("resumable",)
            )
            headers = {**self._headers, RESUME_SECRET_HEADER: link.secret}
            # A stalled handshake must not use up the window.
            timeout = max(0.05, min(settings.open_timeout_s, remaining, max(1.0, settings.max_delay_s)))
            try:
                ws = await self._open(url, headers, timeout)
            except InvalidStatus as refused:
                last = refused
                if refused.response.status_code < 500:
                    break
                continue
            except (OSError, asyncio.TimeoutError, Exception) as failed:
                last = failed
                continue
            try:
                first = await asyncio.wait_for(ws.recv(), timeout)
            except (ConnectionClosed, asyncio.TimeoutError) as failed:
                _abandon(ws)
                last = failed
                if (
                    isinstance(failed, ConnectionClosed)
                    and failed.rcvd is not None
                    and failed.rcvd.code in _FINAL_CODES
                ):
                    break
                continue
            except BaseException:
                # Cancelled while waiting: the attempt's socket must not outlive it.
                _abandon(ws)
                raise
            resumed = _json(first)
            if resumed.get("message_type") != "resumed_message":
                await ws.close()
                last = RuntimeError(f"expected resumed_message, got {str(first)[:80]}")
                break
            self._ws = ws
            link.acknowledged(int(resumed.get("last_client_seq", 0)))
            for text in list(link.unacked.values()):
                with contextlib.suppress(ConnectionClosed):
                    await ws.send(text)
            self._resuming = False
            self.reconnects += 1
            await self._notify(attempts, time.monotonic() - since)
            return
        elapsed = time.monotonic() - since
        raise ConnectionLostError(
            f"the connection to the runtime was lost and could not be resumed "
            f"({attempts} attempt(s) over {elapsed:.1f} s): {last}",
            attempts=attempts,
            elapsed_s=elapsed,
        ) from last

    async def _notify(self, attempts: int, downtime_s: float) -> None:
        callback = self._settings.on_reconnect
        if callback is None:
            return
        event = {"reconnects": self.reconnects, "attempts": attempts, "downtime_s": downtime_s}
        # The caller's callback must not break the connection.
        with contextlib.suppress(Exception):
            outcome = callback(event)
            if outcome is not None:
                await outcome


def _abandon(ws: ClientConnection) -> None:
    """Drops a resume attempt's socket at once, with no close frame.

    A close with 1000 would end the session if the runtime had accepted the
    attempt after all; a dropped socket leaves it waiting for the next one.
    """
    ws.transport.abort()


def _json(frame: str | bytes) -> dict[str, Any]:
    try:
        value = json.loads(frame)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}

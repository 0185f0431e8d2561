"""An in-memory transport with a scripted runtime on the other end.

It implements the transport protocols the way a user's own transport would
(one-shot ``__call__`` and ``connect()``), so the client is tested through
its public seams. Every message crosses as JSON text, as on a socket.

A test supplies a *script*: ``async def script(peer: Peer) -> None`` that
plays the runtime for one connection, reading what the client sent with
``peer.receive()`` and answering with ``peer.send()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Any

from runtimeuse_client.transports import EndSessionMessageHandler

#: Generous bound for any wait in these tests: long enough for a loaded
#: machine, short enough that a broken rule fails instead of hanging.
WAIT_S = 20.0

_CLOSED = "__closed__"

Script = Callable[["Peer"], Awaitable[None]]


class Peer:
    """The runtime's end of one in-memory connection."""

    def __init__(self) -> None:
        self._inbox: asyncio.Queue[str] = asyncio.Queue()
        self._outbox: asyncio.Queue[str] = asyncio.Queue()
        #: Every message the client sent, in order (whether read yet or not).
        self.sent_by_client: list[dict[str, Any]] = []
        self.client_closed = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def receive(self) -> dict[str, Any]:
        """The next message from the client (fails the test after WAIT_S)."""
        text = await asyncio.wait_for(self._inbox.get(), WAIT_S)
        message: dict[str, Any] = json.loads(text)
        return message

    async def receive_type(self, message_type: str) -> dict[str, Any]:
        message = await self.receive()
        assert message["message_type"] == message_type, message
        return message

    async def send(self, message: dict[str, Any]) -> None:
        await self._outbox.put(json.dumps(message))

    async def send_raw(self, text: str) -> None:
        await self._outbox.put(text)

    def close(self) -> None:
        """The runtime closes the connection."""
        self._outbox.put_nowait(_CLOSED)

    async def wait_client_closed(self) -> None:
        await asyncio.wait_for(self.client_closed.wait(), WAIT_S)

    # -- used by the client side -------------------------------------------

    def _deliver_from_client(self, message: dict[str, Any]) -> None:
        text = json.dumps(message)
        self.sent_by_client.append(json.loads(text))
        self._inbox.put_nowait(text)

    async def _next_for_client(self) -> dict[str, Any] | None:
        text = await self._outbox.get()
        if text == _CLOSED:
            self._outbox.put_nowait(_CLOSED)  # stays closed for later readers
            return None
        try:
            value = json.loads(text)
        except ValueError:
            return {"raw": text}
        return value if isinstance(value, dict) else {"raw": text}


class MemoryConnected:
    """The client's end of one in-memory connection (a ConnectedTransport)."""

    def __init__(self, peer: Peer) -> None:
        self.peer = peer

    async def request(self, send_queue: asyncio.Queue[dict[str, Any]]) -> AsyncGenerator[dict[str, Any], None]:
        pump = asyncio.ensure_future(self._pump(send_queue))
        try:
            while True:
                message = await self.peer._next_for_client()
                if message is None:
                    return
                yield message
        finally:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
            while not send_queue.empty():
                self.peer._deliver_from_client(send_queue.get_nowait())

    async def end_session(
        self, on_message: EndSessionMessageHandler | None = None, timeout_s: float = 60.0
    ) -> dict[str, Any] | None:
        self.peer._deliver_from_client({"message_type": "end_session_message"})

        async def read() -> dict[str, Any] | None:
            while True:
                message = await self.peer._next_for_client()
                if message is None:
                    return None
                if message.get("message_type") == "end_session_confirm_message":
                    return message
                if on_message is not None:
                    reply = await on_message(message)
                    if reply is not None:
                        self.peer._deliver_from_client(reply)

        try:
            return await asyncio.wait_for(read(), timeout_s)
        except asyncio.TimeoutError:
            return None

    async def close(self) -> None:
        self.peer.client_closed.set()

    async def _pump(self, send_queue: asyncio.Queue[dict[str, Any]]) -> None:
        while True:
            self.peer._deliver_from_client(await send_queue.get())


class MemoryTransport:
    """Opens in-memory connections, each played by a fresh run of ``script``."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.peers: list[Peer] = []

    def _open(self) -> Peer:
        peer = Peer()
        peer.task = asyncio.ensure_future(self.script(peer))
        self.peers.append(peer)
        return peer

    async def __call__(self, send_queue: asyncio.Queue[dict[str, Any]]) -> AsyncGenerator[dict[str, Any], None]:
        connected = MemoryConnected(self._open())
        messages = connected.request(send_queue)
        try:
            async for message in messages:
                yield message
        finally:
            await messages.aclose()
            await connected.close()

    @contextlib.asynccontextmanager
    async def connect(self) -> AsyncIterator[MemoryConnected]:
        connected = MemoryConnected(self._open())
        try:
            yield connected
        finally:
            await connected.close()

    @property
    def peer(self) -> Peer:
        """The only connection opened so far."""
        assert len(self.peers) == 1, f"expected one connection, got {len(self.peers)}"
        return self.peers[0]

    async def finish(self) -> None:
        """Wait for every script to end and re-raise what one of them raised."""
        for peer in self.peers:
            assert peer.task is not None
            await asyncio.wait_for(asyncio.shield(peer.task), WAIT_S)


class OneShotOnlyTransport:
    """A transport written for 0.15.1 that cannot hold sessions."""

    def __init__(self, inner: MemoryTransport) -> None:
        self.inner = inner

    def __call__(self, send_queue: asyncio.Queue[dict[str, Any]]) -> AsyncGenerator[dict[str, Any], None]:
        return self.inner(send_queue)

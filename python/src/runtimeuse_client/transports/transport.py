"""What the client needs from a transport.

A transport moves JSON objects: it yields each decoded runtime message as a
``dict`` and sends each ``dict`` that the client puts on ``send_queue``. The
client validates what it receives, so a transport never needs to know the
message types. These protocols match runtimeuse-client 0.15.1, so transports
written for it plug in unchanged.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

#: Called for each message that arrives while a session is ending; a ``dict``
#: it returns is sent back (how late artifact requests get their answers).
EndSessionMessageHandler = Callable[[dict[str, Any]], Awaitable["dict[str, Any] | None"]]


class Transport(Protocol):
    """One request per connection.

    Calling it with ``send_queue=`` opens a connection and returns an async
    generator of runtime messages; closing the generator closes the
    connection. The client closes it once it has read the request's
    terminal message (or has given up).
    """

    def __call__(self, send_queue: asyncio.Queue[dict[str, Any]]) -> AsyncGenerator[dict[str, Any], None]: ...


class ConnectedTransport(Protocol):
    """An open connection that carries one request after another."""

    def request(self, send_queue: asyncio.Queue[dict[str, Any]]) -> AsyncGenerator[dict[str, Any], None]:
        """Messages for one request; closing the generator leaves the
        connection open for the next one."""
        ...

    async def end_session(
        self,
        on_message: EndSessionMessageHandler | None = None,
        timeout_s: float = 60.0,
    ) -> dict[str, Any] | None:
        """Send ``end_session_message`` and read until the confirm (or
        ``timeout_s``), passing every other message to ``on_message``.

        Returns the confirm message, or ``None`` if none arrived. (0.15.1
        transports return ``None`` always; the client accepts that.)
        """
        ...

    async def close(self) -> None: ...


class PersistentTransport(Protocol):
    """A transport that can open a connection for a whole session."""

    def connect(self) -> AbstractAsyncContextManager[ConnectedTransport]: ...

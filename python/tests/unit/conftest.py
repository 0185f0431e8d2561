from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from support.memory import MemoryTransport, Script


@pytest.fixture
async def memory() -> AsyncIterator[Callable[[Script], MemoryTransport]]:
    """Make in-memory transports; at teardown, fail on any script that raised
    and stop the ones still waiting."""
    made: list[MemoryTransport] = []

    def make(script: Script) -> MemoryTransport:
        transport = MemoryTransport(script)
        made.append(transport)
        return transport

    yield make
    for transport in made:
        for peer in transport.peers:
            assert peer.task is not None
            if peer.task.done():
                peer.task.result()
            else:
                peer.task.cancel()

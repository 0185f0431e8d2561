"""The async-iterator forms: stream() and stream_commands()."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest

from runtimeuse_client import (
    AgentRuntimeError,
    AssistantMessageInterface,
    CommandExecutionResult,
    CommandInterface,
    CommandOutputMessageInterface,
    ExecuteCommandsOptions,
    HeartbeatMessageInterface,
    QueryOptions,
    QueryResult,
    RuntimeUseClient,
)
from support import wire
from support.memory import MemoryTransport, Peer, Script

Memory = Callable[[Script], MemoryTransport]


async def test_stream_yields_progress_then_the_result(memory: Memory) -> None:
    """stream() yields typed progress messages in order and the QueryResult last."""

    async def script(peer: Peer) -> None:
        await peer.receive()
        await peer.send(wire.output("o", command="c"))
        await peer.send(wire.assistant("a1"))
        await peer.send(wire.heartbeat(5))
        await peer.send(wire.assistant("a2"))
        await peer.send(wire.text_result("r"))

    seen_by_callback: list[str] = []

    async def on_assistant(message: AssistantMessageInterface) -> None:
        seen_by_callback.extend(message.text_blocks)

    client = RuntimeUseClient(transport=memory(script))
    events = [e async for e in client.stream("p", QueryOptions("s", "m", on_assistant_message=on_assistant))]
    assert [type(e) for e in events] == [
        CommandOutputMessageInterface,
        AssistantMessageInterface,
        HeartbeatMessageInterface,
        AssistantMessageInterface,
        QueryResult,
    ]
    last = events[-1]
    assert isinstance(last, QueryResult)
    assert last.data.type == "text"
    assert seen_by_callback == ["a1", "a2"]


async def test_stream_raises_the_requests_error(memory: Memory) -> None:
    """An error_message surfaces from the iterator as AgentRuntimeError after the progress before it."""

    async def script(peer: Peer) -> None:
        await peer.receive()
        await peer.send(wire.assistant("a"))
        await peer.send(wire.error("bad", code="handler_error"))

    seen: list[object] = []

    async def consume() -> None:
        async for event in RuntimeUseClient(transport=memory(script)).stream("p", QueryOptions("s", "m")):
            seen.append(event)

    with pytest.raises(AgentRuntimeError, match="bad"):
        await consume()
    assert len(seen) == 1


async def test_leaving_a_stream_early_closes_the_connection(memory: Memory) -> None:
    """Breaking out of stream() (closed with aclosing) closes the one-shot connection."""

    async def script(peer: Peer) -> None:
        await peer.receive()
        for i in range(1000):
            await peer.send(wire.assistant(str(i)))

    transport = memory(script)
    client = RuntimeUseClient(transport=transport)
    async with contextlib.aclosing(client.stream("p", QueryOptions("s", "m"))) as events:
        async for _ in events:
            break
    await transport.peer.wait_client_closed()


async def test_stream_commands_yields_output_then_the_result(memory: Memory) -> None:
    """stream_commands() yields command output and the CommandExecutionResult last."""

    async def script(peer: Peer) -> None:
        await peer.receive()
        await peer.send(wire.output("x", command="echo x"))
        await peer.send(wire.commands_result(("echo x", 0, "x")))

    events = [
        e
        async for e in RuntimeUseClient(transport=memory(script)).stream_commands(
            [CommandInterface(command="echo x")], ExecuteCommandsOptions()
        )
    ]
    assert isinstance(events[0], CommandOutputMessageInterface)
    assert isinstance(events[1], CommandExecutionResult)
    assert events[1].results[0].exit_code == 0

"""abort(): send cancel_message, keep reading to the terminal, raise CancelledException."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from runtimeuse_client import (
    AssistantMessageInterface,
    CancelledException,
    CommandInterface,
    ExecuteCommandsOptions,
    QueryOptions,
    RuntimeUseClient,
    TextResult,
)
from support import wire
from support.memory import WAIT_S, MemoryTransport, Peer, Script

Memory = Callable[[Script], MemoryTransport]


def opts(**kwargs: Any) -> QueryOptions:
    return QueryOptions(system_prompt="sys", model="m", **kwargs)


async def test_abort_sends_cancel_and_waits_for_the_terminal(memory: Memory) -> None:
    """After abort the client reads on until the terminal, ignoring progress, then raises CancelledException."""
    started = asyncio.Event()
    after_cancel: list[str] = []

    async def script(peer: Peer) -> None:
        await peer.receive_type("invocation_message")
        await peer.send(wire.assistant("before"))
        await peer.receive_type("cancel_message")
        await peer.send(wire.assistant("after cancel"))
        await peer.send(wire.output("after cancel"))
        await peer.send(wire.error("Request cancelled", code="cancelled"))

    async def on_assistant(message: AssistantMessageInterface) -> None:
        if message.text_blocks == ["before"]:
            started.set()
        else:
            after_cancel.append("assistant")

    async def on_output(_: Any) -> None:
        after_cancel.append("output")

    client = RuntimeUseClient(transport=memory(script))
    task = asyncio.ensure_future(
        client.query("p", opts(on_assistant_message=on_assistant, on_command_output=on_output))
    )
    await asyncio.wait_for(started.wait(), WAIT_S)
    client.abort()
    with pytest.raises(CancelledException):
        await asyncio.wait_for(task, WAIT_S)
    assert after_cancel == []


async def test_abort_wins_over_a_result_that_crosses_the_cancel(memory: Memory) -> None:
    """A result arriving after abort() still ends in CancelledException."""
    got_invocation = asyncio.Event()
    go = asyncio.Event()

    async def script(peer: Peer) -> None:
        await peer.receive()
        got_invocation.set()
        await go.wait()
        await peer.send(wire.text_result("finished anyway"))
        await peer.receive_type("cancel_message")

    client = RuntimeUseClient(transport=memory(script))
    task = asyncio.ensure_future(client.query("p", opts()))
    await asyncio.wait_for(got_invocation.wait(), WAIT_S)
    client.abort()
    go.set()
    with pytest.raises(CancelledException, match="Query was cancelled"):
        await asyncio.wait_for(task, WAIT_S)


async def test_abort_cancels_command_execution(memory: Memory) -> None:
    """abort() during execute_commands raises CancelledException with its own message."""
    got = asyncio.Event()

    async def script(peer: Peer) -> None:
        await peer.receive_type("command_execution_message")
        got.set()
        await peer.receive_type("cancel_message")
        await peer.send(wire.error("Request cancelled", code="cancelled"))

    client = RuntimeUseClient(transport=memory(script))
    task = asyncio.ensure_future(
        client.execute_commands([CommandInterface(command="sleep 100")], ExecuteCommandsOptions())
    )
    await asyncio.wait_for(got.wait(), WAIT_S)
    client.abort()
    with pytest.raises(CancelledException, match="Command execution was cancelled"):
        await asyncio.wait_for(task, WAIT_S)


async def test_abort_with_nothing_in_flight_does_not_affect_the_next_call(memory: Memory) -> None:
    """abort() before a call starts is forgotten; the call then succeeds and sends no cancel."""

    async def script(peer: Peer) -> None:
        await peer.receive()
        await peer.send(wire.text_result("fine"))

    transport = memory(script)
    client = RuntimeUseClient(transport=transport)
    client.abort()
    result = await client.query("p", opts())
    assert isinstance(result.data, TextResult)
    assert [m["message_type"] for m in transport.peer.sent_by_client] == ["invocation_message"]


async def test_abort_reaches_every_one_shot_call_in_flight(memory: Memory) -> None:
    """Two concurrent one-shot calls on one client are both cancelled by abort()."""
    arrived = asyncio.Semaphore(0)

    async def script(peer: Peer) -> None:
        await peer.receive()
        arrived.release()
        await peer.receive_type("cancel_message")
        await peer.send(wire.error("Request cancelled", code="cancelled"))

    client = RuntimeUseClient(transport=memory(script))
    tasks = [asyncio.ensure_future(client.query("p", opts())) for _ in range(2)]
    for _ in range(2):
        await asyncio.wait_for(arrived.acquire(), WAIT_S)
    client.abort()
    results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), WAIT_S)
    assert all(isinstance(r, CancelledException) for r in results), results

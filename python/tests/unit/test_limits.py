"""Time limits: timeout raises TimeoutError; idle and callback limits raise
AgentRuntimeError naming the limit in metadata["timeout_type"]."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import Any

import pytest

from runtimeuse_client import (
    AgentRuntimeError,
    ArtifactUploadRequestMessageInterface,
    ArtifactUploadResult,
    AssistantMessageInterface,
    ExecuteCommandsOptions,
    QueryOptions,
    RuntimeUseClient,
    TextResult,
    _driver,
)
from support import wire
from support.memory import MemoryTransport, Peer, Script

Memory = Callable[[Script], MemoryTransport]


@pytest.fixture(
    autouse=True,
    params=[
        pytest.param(
            "asyncio.timeout",
            marks=pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.timeout is new in Python 3.11"),
        ),
        "task",
    ],
)
def wait_strategy(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every limit test with both ways of bounding a wait (3.11+ and 3.10)."""
    monkeypatch.setattr(_driver, "NATIVE_TIMEOUT", request.param == "asyncio.timeout")


def opts(**kwargs: Any) -> QueryOptions:
    return QueryOptions(system_prompt="sys", model="m", **kwargs)


async def silent(peer: Peer) -> None:
    await peer.receive()
    await asyncio.Event().wait()


async def test_timeout_raises_timeout_error_and_closes_the_connection(memory: Memory) -> None:
    """A runtime that never answers makes query raise TimeoutError; the connection is closed."""
    transport = memory(silent)
    with pytest.raises(TimeoutError):
        await RuntimeUseClient(transport=transport).query("p", opts(timeout=0.2))
    await transport.peer.wait_client_closed()


async def test_timeout_covers_time_spent_in_callbacks(memory: Memory) -> None:
    """The overall timeout also stops a callback that runs past it (TimeoutError, not a callback limit)."""

    async def script(peer: Peer) -> None:
        await peer.receive()
        await peer.send(wire.assistant("slow"))
        await asyncio.Event().wait()

    async def slow(_: AssistantMessageInterface) -> None:
        await asyncio.Event().wait()

    with pytest.raises(TimeoutError):
        await RuntimeUseClient(transport=memory(script)).query(
            "p", opts(timeout=0.2, on_assistant_message=slow, assistant_callback_timeout=600)
        )


async def test_idle_timeout_raises_agent_runtime_error_with_timeout_type(memory: Memory) -> None:
    """No message within idle_timeout raises AgentRuntimeError(timeout_type=idle_timeout)."""

    async def script(peer: Peer) -> None:
        await peer.receive()
        await peer.send(wire.heartbeat(1))
        await asyncio.Event().wait()

    with pytest.raises(AgentRuntimeError) as caught:
        await RuntimeUseClient(transport=memory(script)).query("p", opts(idle_timeout=1.0))
    assert caught.value.metadata is not None
    assert caught.value.metadata["timeout_type"] == "idle_timeout"
    assert caught.value.metadata["idle_timeout"] == 1.0
    assert caught.value.metadata["last_message_type"] == "heartbeat_message"
    assert caught.value.metadata["message_count"] == 1


async def test_each_message_restarts_the_idle_timer(memory: Memory) -> None:
    """Heartbeats keep a request alive past idle_timeout in total (gaps far below the limit)."""

    async def script(peer: Peer) -> None:
        await peer.receive()
        loop = asyncio.get_running_loop()
        start = loop.time()
        while loop.time() - start < 3.0:
            await peer.send(wire.heartbeat(int((loop.time() - start) * 1000)))
            await asyncio.sleep(0.02)
        await peer.send(wire.text_result("alive"))

    result = await RuntimeUseClient(transport=memory(script)).query("p", opts(idle_timeout=2.0))
    assert isinstance(result.data, TextResult)
    assert result.data.text == "alive"


async def test_assistant_callback_timeout_raises_with_timeout_type(memory: Memory) -> None:
    """A slow on_assistant_message is cut off: AgentRuntimeError(timeout_type=assistant_callback_timeout)."""

    async def script(peer: Peer) -> None:
        await peer.receive()
        await peer.send(wire.assistant("x"))
        await asyncio.Event().wait()

    cancelled = asyncio.Event()

    async def slow(_: AssistantMessageInterface) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with pytest.raises(AgentRuntimeError) as caught:
        await RuntimeUseClient(transport=memory(script)).query(
            "p", opts(on_assistant_message=slow, assistant_callback_timeout=0.2)
        )
    assert caught.value.metadata is not None
    assert caught.value.metadata["timeout_type"] == "assistant_callback_timeout"
    assert caught.value.metadata["timeout"] == 0.2
    assert cancelled.is_set()


async def test_artifact_callback_timeout_raises_with_timeout_type(memory: Memory) -> None:
    """A slow on_artifact_upload_request raises AgentRuntimeError naming the file."""

    async def script(peer: Peer) -> None:
        await peer.receive()
        await peer.send(wire.upload_request("/out/report.txt"))
        await asyncio.Event().wait()

    async def slow(_: ArtifactUploadRequestMessageInterface) -> ArtifactUploadResult:
        await asyncio.Event().wait()
        raise AssertionError

    with pytest.raises(AgentRuntimeError) as caught:
        await RuntimeUseClient(transport=memory(script)).execute_commands(
            [],
            ExecuteCommandsOptions(
                artifacts_dirs=["/out"], on_artifact_upload_request=slow, artifact_upload_callback_timeout=0.2
            ),
        )
    assert caught.value.metadata == {
        "timeout_type": "artifact_upload_callback_timeout",
        "timeout": 0.2,
        "filename": "report.txt",
        "filepath": "/out/report.txt",
    }


@pytest.mark.parametrize("field", ["timeout", "idle_timeout", "assistant_callback_timeout"])
def test_negative_limits_are_refused(field: str) -> None:
    """A negative (or NaN) limit is a ValueError naming the field."""
    with pytest.raises(ValueError, match=field):
        opts(**{field: -1})
    with pytest.raises(ValueError, match=field):
        opts(**{field: float("nan")})


async def test_a_callback_exception_propagates_unchanged(memory: Memory) -> None:
    """An exception raised by a callback (even a TimeoutError) reaches the caller as is."""

    async def script(peer: Peer) -> None:
        await peer.receive()
        await peer.send(wire.assistant("x"))
        await asyncio.Event().wait()

    async def on_assistant(_: AssistantMessageInterface) -> None:
        raise TimeoutError("the callback's own")

    with pytest.raises(TimeoutError, match="the callback's own"):
        await RuntimeUseClient(transport=memory(script)).query(
            "p", opts(on_assistant_message=on_assistant, assistant_callback_timeout=30)
        )

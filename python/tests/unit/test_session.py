"""Persistent sessions: sequencing, ending, late artifacts, staying in step."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import pytest

from runtimeuse_client import (
    AgentRuntimeError,
    ArtifactUploadRequestMessageInterface,
    ArtifactUploadResult,
    CancelledException,
    CommandInterface,
    ExecuteCommandsOptions,
    HeartbeatMessageInterface,
    QueryOptions,
    RuntimeUseClient,
    SessionState,
    TextResult,
)
from runtimeuse_client import session as session_module
from support import wire
from support.memory import WAIT_S, MemoryTransport, OneShotOnlyTransport, Peer, Script

Memory = Callable[[Script], MemoryTransport]


def opts(**kwargs: Any) -> QueryOptions:
    return QueryOptions(system_prompt="sys", model="m", **kwargs)


async def echo_runtime(peer: Peer) -> None:
    """Answers each request in turn until end_session, then confirms."""
    while True:
        message = await peer.receive()
        kind = message["message_type"]
        if kind == "invocation_message":
            await peer.send(wire.text_result("echo:" + message["user_prompt"]))
        elif kind == "command_execution_message":
            await peer.send(wire.commands_result(*((c["command"], 0, "") for c in message["commands"])))
        elif kind == "end_session_message":
            await peer.send(wire.confirm())
            return


def text_of(result: Any) -> str:
    assert isinstance(result.data, TextResult)
    return result.data.text


async def test_session_runs_requests_in_turn_on_one_connection(memory: Memory) -> None:
    """Several queries and command executions share one connection, each getting its own answer."""
    transport = memory(echo_runtime)
    async with RuntimeUseClient(transport=transport).session() as session:
        assert text_of(await session.query("one", opts())) == "echo:one"
        commands = await session.execute_commands([CommandInterface(command="ls")], ExecuteCommandsOptions())
        assert commands.results[0].command == "ls"
        assert text_of(await session.query("two", opts())) == "echo:two"
    assert len(transport.peers) == 1
    assert [m["message_type"] for m in transport.peer.sent_by_client] == [
        "invocation_message",
        "command_execution_message",
        "invocation_message",
        "end_session_message",
    ]
    await transport.finish()


async def test_concurrent_session_calls_wait_their_turn(memory: Memory) -> None:
    """The second request is not sent before the first one's terminal has arrived."""
    transport = memory(echo_runtime)
    async with RuntimeUseClient(transport=transport).session() as session:
        texts = await asyncio.gather(*(session.query(str(i), opts()) for i in range(5)))
    assert sorted(text_of(t) for t in texts) == [f"echo:{i}" for i in range(5)]
    await transport.finish()


async def test_ending_a_session_answers_late_artifact_requests_and_keeps_the_manifest(memory: Memory) -> None:
    """On exit the session sends end_session_message, answers late upload requests with the
    last artifact callback until the confirm arrives, and exposes the confirm's manifest."""
    responses: list[dict[str, Any]] = []
    manifest = [{"filepath": "/out/late.txt", "size": 4, "status": "uploaded"}]

    async def script(peer: Peer) -> None:
        await peer.receive_type("invocation_message")
        await peer.send(wire.text_result("done"))
        await peer.receive_type("end_session_message")
        await peer.send(wire.upload_request("/out/late.txt"))
        responses.append(await peer.receive_type("artifact_upload_response_message"))
        await peer.send(wire.confirm(manifest))

    async def on_upload(request: ArtifactUploadRequestMessageInterface) -> ArtifactUploadResult:
        return ArtifactUploadResult(presigned_url="http://s/" + request.filename, content_type="text/plain")

    transport = memory(script)
    async with RuntimeUseClient(transport=transport).session() as session:
        await session.query("p", opts(artifacts_dirs=["/out"], on_artifact_upload_request=on_upload))
        assert session.artifacts is None
    await transport.finish()
    assert responses[0]["presigned_url"] == "http://s/late.txt"
    assert session.state is SessionState.CLOSED
    assert session.artifacts is not None
    assert [(a.filepath, a.size, a.status, a.error) for a in session.artifacts] == [
        ("/out/late.txt", 4, "uploaded", None)
    ]


async def upload_to_s(request: ArtifactUploadRequestMessageInterface) -> ArtifactUploadResult:
    return ArtifactUploadResult(presigned_url="http://s/" + request.filename, content_type="text/plain")


async def test_between_requests_offers_are_answered_at_once_and_heartbeats_dropped(memory: Memory) -> None:
    """An idle session answers an offer with the last callback without waiting for a call, and drops heartbeats."""
    answered = asyncio.Event()

    async def script(peer: Peer) -> None:
        await peer.receive_type("command_execution_message")
        await peer.send(wire.commands_result())
        await peer.send(wire.heartbeat(15000))
        await peer.send(wire.upload_request("/out/after.md"))
        answer = await peer.receive_type("artifact_upload_response_message")
        assert answer["presigned_url"] == "http://s/after.md"
        answered.set()
        await echo_runtime(peer)

    heartbeats: list[HeartbeatMessageInterface] = []

    async def on_heartbeat(message: HeartbeatMessageInterface) -> None:
        heartbeats.append(message)

    transport = memory(script)
    async with RuntimeUseClient(transport=transport).session() as session:
        options = ExecuteCommandsOptions(artifacts_dirs=["/out"], on_artifact_upload_request=upload_to_s)
        await session.execute_commands([CommandInterface(command="make")], options)
        await asyncio.wait_for(answered.wait(), WAIT_S)
        assert text_of(await session.query("next", opts(on_heartbeat=on_heartbeat))) == "echo:next"
    await transport.finish()
    assert heartbeats == []


async def test_a_request_without_a_callback_answers_offers_with_the_sessions_last_one(memory: Memory) -> None:
    """Offers during a request that sets no artifact callback are answered with the one an earlier request gave."""

    async def script(peer: Peer) -> None:
        await peer.receive_type("command_execution_message")
        await peer.send(wire.commands_result())
        await peer.receive_type("invocation_message")
        await peer.send(wire.upload_request("/out/second.md"))
        answer = await peer.receive_type("artifact_upload_response_message")
        assert answer["presigned_url"] == "http://s/second.md"
        await peer.send(wire.text_result("done"))
        await echo_runtime(peer)

    transport = memory(script)
    async with RuntimeUseClient(transport=transport).session() as session:
        options = ExecuteCommandsOptions(artifacts_dirs=["/out"], on_artifact_upload_request=upload_to_s)
        await session.execute_commands([CommandInterface(command="make")], options)
        assert text_of(await session.query("no callback", opts())) == "done"
    await transport.finish()


async def test_a_message_between_requests_that_belongs_to_none_ends_the_session(memory: Memory) -> None:
    """A stray message while idle is unexpected_message: the connection is closed and later calls say why."""

    async def script(peer: Peer) -> None:
        await peer.receive_type("command_execution_message")
        await peer.send(wire.commands_result())
        await peer.send(wire.assistant("stray"))

    transport = memory(script)
    async with RuntimeUseClient(transport=transport).session() as session:
        await session.execute_commands([CommandInterface(command="true")], ExecuteCommandsOptions())
        await transport.peer.wait_client_closed()
        assert session.state is SessionState.CLOSED
        with pytest.raises(AgentRuntimeError, match="connection has ended") as caught:
            await session.query("next", opts())
        assert caught.value.code == "unexpected_message"
        assert isinstance(caught.value.__cause__, AgentRuntimeError)
        assert "assistant_message while no request was in flight" in caught.value.__cause__.error
    kinds = [m["message_type"] for m in transport.peer.sent_by_client]
    assert kinds == ["command_execution_message"], "no end_session on a connection that was closed"


async def test_a_connection_that_closes_while_idle_is_reported_by_the_next_call(memory: Memory) -> None:
    """The runtime going away between requests makes the next call raise connection_closed at once."""

    async def script(peer: Peer) -> None:
        await peer.receive_type("command_execution_message")
        await peer.send(wire.commands_result())
        peer.close()

    async with RuntimeUseClient(transport=memory(script)).session() as session:
        await session.execute_commands([CommandInterface(command="true")], ExecuteCommandsOptions())
        with pytest.raises(AgentRuntimeError) as caught:
            await session.query("next", opts())
        assert caught.value.code == "connection_closed"


async def test_a_confirm_without_manifest_leaves_artifacts_none(memory: Memory) -> None:
    """A runtime that sends a bare confirm (as older ones do) gives artifacts None."""
    transport = memory(echo_runtime)
    async with RuntimeUseClient(transport=transport).session() as session:
        pass
    assert session.end_session_confirm is not None
    assert session.artifacts is None


async def test_session_ends_even_if_the_runtime_never_confirms(memory: Memory) -> None:
    """Without a confirm the session gives up after its end-session limit and closes."""

    async def script(peer: Peer) -> None:
        await peer.receive_type("end_session_message")
        await asyncio.Event().wait()

    transport = memory(script)
    async with RuntimeUseClient(transport=transport).session() as session:
        session._end_session_timeout_s = 0.2
    assert session.state is SessionState.CLOSED
    assert session.end_session_confirm is None
    await transport.peer.wait_client_closed()


async def test_abort_in_a_session_keeps_the_next_request_in_step(memory: Memory) -> None:
    """After abort the cancelled request's terminal is consumed, so the next query gets its own result."""
    started = asyncio.Event()

    async def script(peer: Peer) -> None:
        await peer.receive_type("invocation_message")
        started.set()
        await peer.receive_type("cancel_message")
        await peer.send(wire.error("Request cancelled", code="cancelled"))
        await echo_runtime(peer)

    async with RuntimeUseClient(transport=memory(script)).session() as session:
        task = asyncio.ensure_future(session.query("slow", opts()))
        await asyncio.wait_for(started.wait(), WAIT_S)
        session.abort()
        with pytest.raises(CancelledException):
            await asyncio.wait_for(task, WAIT_S)
        assert session.state is SessionState.IDLE
        assert text_of(await session.query("next", opts())) == "echo:next"


async def test_a_timed_out_session_request_is_cancelled_before_the_next_one(memory: Memory) -> None:
    """After a timeout the session cancels the abandoned request and reads its terminal
    before sending the next request, so a late answer is never taken for the new one."""
    release = asyncio.Event()

    async def script(peer: Peer) -> None:
        await peer.receive_type("invocation_message")
        await release.wait()
        await peer.receive_type("cancel_message")
        await peer.send(wire.text_result("stale answer"))
        await echo_runtime(peer)

    transport = memory(script)
    async with RuntimeUseClient(transport=transport).session() as session:
        with pytest.raises(TimeoutError):
            await session.query("slow", opts(timeout=0.2))
        assert session.state is SessionState.UNSETTLED
        release.set()
        assert text_of(await session.query("fresh", opts())) == "echo:fresh"
    kinds = [m["message_type"] for m in transport.peer.sent_by_client]
    assert kinds == ["invocation_message", "cancel_message", "invocation_message", "end_session_message"]


async def test_leaving_a_session_stream_early_keeps_the_session_in_step(memory: Memory) -> None:
    """Breaking out of session.stream() cancels that request; the next call still gets its own result."""

    async def script(peer: Peer) -> None:
        await peer.receive_type("invocation_message")
        await peer.send(wire.assistant("first"))
        await peer.receive_type("cancel_message")
        await peer.send(wire.error("Request cancelled", code="cancelled"))
        await echo_runtime(peer)

    async with RuntimeUseClient(transport=memory(script)).session() as session:
        async with contextlib.aclosing(session.stream("p", opts())) as events:
            async for _ in events:
                break
        assert text_of(await session.query("after", opts())) == "echo:after"


async def test_a_runtime_that_never_finishes_the_abandoned_request_is_reported(
    memory: Memory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the abandoned request's terminal never comes, the next call raises session_out_of_step."""
    monkeypatch.setattr(session_module, "RESYNC_TIMEOUT_S", 0.2)

    async def script(peer: Peer) -> None:
        await peer.receive_type("invocation_message")
        await asyncio.Event().wait()

    async with RuntimeUseClient(transport=memory(script)).session() as session:
        session._end_session_timeout_s = 0.2
        with pytest.raises(TimeoutError):
            await session.query("slow", opts(timeout=0.1))
        with pytest.raises(AgentRuntimeError) as caught:
            await session.query("next", opts())
        assert caught.value.code == "session_out_of_step"


async def test_a_session_cannot_be_used_after_it_ended(memory: Memory) -> None:
    """Calling a session after its context has exited is a RuntimeError, not a hang."""
    async with RuntimeUseClient(transport=memory(echo_runtime)).session() as session:
        pass
    with pytest.raises(RuntimeError, match="ended"):
        await session.query("late", opts())


async def test_a_transport_without_connect_cannot_open_a_session(memory: Memory) -> None:
    """session() on a one-shot-only transport raises TypeError."""
    client = RuntimeUseClient(transport=OneShotOnlyTransport(memory(echo_runtime)))
    with pytest.raises(TypeError, match="connect"):
        async with client.session():
            pass


async def test_leaving_a_session_while_a_call_runs_cancels_that_call_first(memory: Memory) -> None:
    """Exiting the session with a call still running aborts it, waits for its terminal, then ends the session."""
    started = asyncio.Event()

    async def script(peer: Peer) -> None:
        await peer.receive_type("invocation_message")
        started.set()
        await peer.receive_type("cancel_message")
        await peer.send(wire.error("Request cancelled", code="cancelled"))
        await peer.receive_type("end_session_message")
        await peer.send(wire.confirm())

    transport = memory(script)
    async with RuntimeUseClient(transport=transport).session() as session:
        task = asyncio.ensure_future(session.query("long", opts()))
        await asyncio.wait_for(started.wait(), WAIT_S)
    with pytest.raises(CancelledException):
        await asyncio.wait_for(task, WAIT_S)
    assert session.end_session_confirm is not None
    await transport.finish()

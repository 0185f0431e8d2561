"""What our client adds beyond 0.15.1, end to end against the real runtime.
Run only with our client."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from runtimeuse_client import (
    AgentRuntimeError,
    ArtifactUploadRequestMessageInterface,
    ArtifactUploadResult,
    AssistantMessageInterface,
    CommandExecutionResult,
    CommandInterface,
    CommandOutputMessageInterface,
    ExecuteCommandsOptions,
    HeartbeatMessageInterface,
    QueryResult,
    RuntimeUseClient,
    SessionState,
    TextResult,
)
from support.http_files import upload_sink
from support.interop import WAIT_S, prompt, query_options, wait_for_file
from support.runtime import CLI, start_agent_runtime


def text_of(result: object) -> str:
    data = getattr(result, "data", None)
    assert isinstance(data, TextResult), result
    return data.text


async def test_stream_yields_commands_assistant_messages_and_the_result(runtime_url: str) -> None:
    """stream() yields pre-command output, the handler's messages in order, then the QueryResult."""
    client = RuntimeUseClient(runtime_url)
    events = [
        event
        async for event in client.stream(
            prompt("stream", "5"),
            query_options(pre_agent_invocation_commands=[CommandInterface(command="echo setup")]),
        )
    ]
    outputs = [e for e in events if isinstance(e, CommandOutputMessageInterface)]
    assert "".join(e.text for e in outputs) == "setup\n"
    assistant = [b for e in events if isinstance(e, AssistantMessageInterface) for b in e.text_blocks]
    assert assistant == [f"part {i}" for i in range(5)]
    assert isinstance(events[0], CommandOutputMessageInterface)
    assert isinstance(events[-1], QueryResult)
    assert text_of(events[-1]) == "sent 5"


async def test_stream_reports_heartbeats(fast_heartbeat_url: str) -> None:
    """Heartbeats are yielded by stream(), with whole-number elapsed_ms."""
    events = [
        e async for e in RuntimeUseClient(fast_heartbeat_url).stream(prompt("wait", "sleep:500"), query_options())
    ]
    beats = [e for e in events if isinstance(e, HeartbeatMessageInterface)]
    assert beats, "no heartbeat during a 500 ms request with a 100 ms interval"
    assert all(isinstance(b.elapsed_ms, int) and b.elapsed_ms >= 0 for b in beats)


async def test_stream_commands_against_the_runtime(runtime_url: str) -> None:
    """stream_commands() yields each command's output and the result last."""
    events = [
        e
        async for e in RuntimeUseClient(runtime_url).stream_commands(
            [CommandInterface(command="echo a"), CommandInterface(command="echo b")], ExecuteCommandsOptions()
        )
    ]
    assert "".join(e.text for e in events if isinstance(e, CommandOutputMessageInterface)) == "a\nb\n"
    last = events[-1]
    assert isinstance(last, CommandExecutionResult)
    assert [r.stdout for r in last.results] == ["a\n", "b\n"]


async def test_a_result_larger_than_one_mebibyte_arrives(runtime_url: str) -> None:
    """A 3 MiB result is received whole (0.15.1 drops it at websockets' 1 MiB default)."""
    big = "y" * (3 * 1024 * 1024)
    result = await RuntimeUseClient(runtime_url).query(prompt("echo", big), query_options())
    assert text_of(result) == big


async def test_session_end_keeps_the_runtimes_confirm(runtime_url: str) -> None:
    """Leaving the session records the runtime's end_session_confirm_message."""
    async with RuntimeUseClient(runtime_url).session() as session:
        await session.query(prompt("echo", "x"), query_options())
    assert session.state is SessionState.CLOSED
    assert session.end_session_confirm is not None


async def test_a_timed_out_session_request_is_cancelled_and_the_session_goes_on(
    runtime_url: str, tmp_path: Path
) -> None:
    """After a timeout in a session, the next query cancels the abandoned one, skips its
    terminal and gets its own answer (0.15.1 would read the stale terminal instead)."""
    marker = tmp_path / "aborted"
    async with RuntimeUseClient(runtime_url).session() as session:
        with pytest.raises(TimeoutError):
            await session.query(
                prompt("wait", "abort"), query_options(timeout=3.0, agent_env={"ABORT_MARKER": str(marker)})
            )
        assert text_of(await session.query(prompt("echo", "fresh"), query_options())) == "fresh"
        assert await wait_for_file(marker) == "aborted"


async def test_leaving_a_session_stream_early_cancels_that_request(runtime_url: str, tmp_path: Path) -> None:
    """Breaking out of session.stream() cancels the request; the next query is answered correctly."""
    marker = tmp_path / "aborted"
    async with RuntimeUseClient(runtime_url).session() as session:
        options = query_options(agent_env={"ABORT_MARKER": str(marker)})
        async with contextlib.aclosing(session.stream(prompt("wait", "abort"), options)) as events:
            async for _ in events:
                break
        assert text_of(await session.query(prompt("echo", "next"), query_options())) == "next"
    assert await wait_for_file(marker) == "aborted"


def _runtime_has_token_flag() -> bool:
    help_text = subprocess.run(["node", str(CLI), "--help"], capture_output=True, text=True, timeout=60).stdout
    return "--token" in help_text


@pytest.mark.skipif(not _runtime_has_token_flag(), reason="the runtime has no --token yet (issue 8)")
async def test_token_is_accepted_by_a_runtime_that_requires_it(runtime_for: Callable[..., str]) -> None:
    """With --token on the runtime, token= connects and a wrong token is refused."""
    url = runtime_for("scripted.mjs", "--token", "s3cret-token")
    assert (
        text_of(await RuntimeUseClient(url, token="s3cret-token").query(prompt("echo", "in"), query_options())) == "in"
    )
    with pytest.raises(Exception) as refused:
        await asyncio.wait_for(RuntimeUseClient(url, token="wrong").query(prompt("echo", "x"), query_options()), WAIT_S)
    assert not isinstance(refused.value, AgentRuntimeError)
    assert "401" in str(refused.value)


async def test_the_session_manifest_lists_each_artifact(runtime_url: str, tmp_path: Path) -> None:
    """After the session ends, session.artifacts lists the uploaded file with its size and status."""
    watched = tmp_path / "artifacts"
    with upload_sink() as (base, _uploads):

        async def on_upload(request: ArtifactUploadRequestMessageInterface) -> ArtifactUploadResult:
            return ArtifactUploadResult(presigned_url=f"{base}/put/{request.filename}", content_type="text/plain")

        async with RuntimeUseClient(runtime_url).session() as session:
            await session.execute_commands(
                [CommandInterface(command="printf 'thirteen char' > a.txt", cwd=str(watched))],
                ExecuteCommandsOptions(artifacts_dirs=[str(watched)], on_artifact_upload_request=on_upload),
            )
    assert session.artifacts is not None
    assert [(a.filepath, a.size, a.status) for a in session.artifacts] == [(str(watched / "a.txt"), 13, "uploaded")]


async def test_conversation_id_continues_a_conversation_across_clients(tmp_path: Path) -> None:
    """Queries naming one conversation_id continue it over separate connections (the echo agent counts runs)."""
    runtime = start_agent_runtime("echo", tmp_path, "--state-dir", str(tmp_path / "state"))
    try:

        async def turns(conversation_id: str | None) -> object:
            result = await RuntimeUseClient(runtime.url).query("p", query_options(conversation_id=conversation_id))
            return (result.metadata or {}).get("turns")

        assert [await turns("c1") for _ in range(3)] == [1, 2, 3]
        assert await turns("c2") == 1
        assert await turns(None) is None
        assert (tmp_path / "state" / "conversations" / "c1.jsonl").is_file()
    finally:
        runtime.stop()

"""Persistent sessions end to end: many requests over one connection.

Runs unchanged with runtimeuse-client 0.15.1 and with ours.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from runtimeuse_client import (
    AgentRuntimeError,
    CancelledException,
    CommandInterface,
    ExecuteCommandsOptions,
    RuntimeUseClient,
    StructuredOutputResult,
    TextResult,
)
from support.interop import WAIT_S, Recorder, prompt, query_options, wait_for_file

SCHEMA = json.dumps({"type": "json_schema", "schema": {"type": "object"}})


def text_of(result: object) -> str:
    data = getattr(result, "data", None)
    assert isinstance(data, TextResult), result
    return data.text


async def test_a_session_carries_queries_and_commands_in_turn(runtime_url: str, tmp_path: Path) -> None:
    """Queries, a structured query and command executions share one connection, each getting its own answer."""
    async with RuntimeUseClient(ws_url=runtime_url).session() as session:
        assert text_of(await session.query(prompt("echo", "first"), query_options())) == "first"
        commands = await session.execute_commands(
            [CommandInterface(command="echo from-session > made.txt; cat made.txt", cwd=str(tmp_path))],
            ExecuteCommandsOptions(timeout=120),
        )
        assert commands.results[0].stdout == "from-session\n"
        structured = await session.query(
            prompt("echo", '{"n": 2}'), query_options(output_format_json_schema_str=SCHEMA)
        )
        assert isinstance(structured.data, StructuredOutputResult)
        assert structured.data.structured_output == {"n": 2}
        recorder = Recorder()
        streamed = await session.query(
            prompt("stream", "20"), query_options(on_assistant_message=recorder.on_assistant)
        )
        assert text_of(streamed) == "sent 20"
        assert recorder.assistant_texts() == [f"part {i}" for i in range(20)]
        assert text_of(await session.query(prompt("echo", "last"), query_options())) == "last"


async def test_errors_in_a_session_leave_the_next_request_in_step(runtime_url: str) -> None:
    """After a handler error (sendErrorMessage then throw), a failed pre-command and a
    failed command, each next request gets its own answer: no stray second terminal."""
    async with RuntimeUseClient(ws_url=runtime_url).session() as session:
        with pytest.raises(AgentRuntimeError, match="reported once"):
            await session.query(prompt("fail", "send:reported once"), query_options())
        assert text_of(await session.query(prompt("echo", "after error"), query_options())) == "after error"
        with pytest.raises(AgentRuntimeError, match="exit code: 7"):
            await session.query(
                prompt("echo", "x"), query_options(pre_agent_invocation_commands=[CommandInterface(command="exit 7")])
            )
        failed = await session.execute_commands([CommandInterface(command="exit 9")], ExecuteCommandsOptions())
        assert failed.results[0].exit_code == 9
        assert text_of(await session.query(prompt("echo", "still fine"), query_options())) == "still fine"


async def test_abort_in_a_session_then_carry_on(runtime_url: str, tmp_path: Path) -> None:
    """abort() cancels the running query; the session's next query is served right away."""
    marker = tmp_path / "aborted"
    recorder = Recorder()
    async with RuntimeUseClient(ws_url=runtime_url).session() as session:
        task = asyncio.ensure_future(
            session.query(
                prompt("wait", "abort"),
                query_options(agent_env={"ABORT_MARKER": str(marker)}, on_assistant_message=recorder.on_assistant),
            )
        )
        await asyncio.wait_for(recorder.first_assistant.wait(), WAIT_S)
        session.abort()
        with pytest.raises(CancelledException):
            await asyncio.wait_for(task, WAIT_S)
        assert text_of(await session.query(prompt("echo", "next"), query_options())) == "next"
        assert await wait_for_file(marker) == "aborted"


async def test_abort_a_command_in_a_session_then_carry_on(runtime_url: str) -> None:
    """A cancelled command execution is followed by a working one on the same connection."""
    started = asyncio.Event()

    async def on_output(message: object) -> None:
        started.set()

    async with RuntimeUseClient(ws_url=runtime_url).session() as session:
        task = asyncio.ensure_future(
            session.execute_commands(
                [CommandInterface(command="echo started; sleep 60")],
                ExecuteCommandsOptions(on_command_output=on_output, timeout=120),
            )
        )
        await asyncio.wait_for(started.wait(), WAIT_S)
        session.abort()
        with pytest.raises(CancelledException):
            await asyncio.wait_for(task, WAIT_S)
        again = await session.execute_commands([CommandInterface(command="echo again")], ExecuteCommandsOptions())
        assert again.results[0].stdout == "again\n"


async def test_many_sequential_requests_on_one_session(runtime_url: str) -> None:
    """Fifty requests in a row on one connection all come back in step."""
    async with RuntimeUseClient(ws_url=runtime_url).session() as session:
        for i in range(50):
            assert text_of(await session.query(prompt("echo", f"n{i}"), query_options())) == f"n{i}"

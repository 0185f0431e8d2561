"""Queries end to end: the client against the real runtime CLI.

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
    RuntimeUseClient,
    StructuredOutputResult,
    TextResult,
)
from support.interop import WAIT_S, Recorder, prompt, query_options, wait_for_file

SCHEMA = json.dumps(
    {
        "type": "json_schema",
        "schema": {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]},
    }
)


async def test_text_query_returns_the_handlers_text_and_metadata(runtime_url: str) -> None:
    """A plain query reaches the handler with every invocation field and returns its text."""
    recorder = Recorder()
    result = await RuntimeUseClient(ws_url=runtime_url).query(
        prompt("echo", "hello there"),
        query_options(
            source_id="interop-text", agent_env={"COLOUR": "blue"}, on_assistant_message=recorder.on_assistant
        ),
    )
    assert isinstance(result.data, TextResult)
    assert result.data.text == "hello there"
    assert result.metadata == {
        "model": "test-model",
        "system_prompt": "You are a test.",
        "source_id": "interop-text",
        "env": {"COLOUR": "blue"},
        "schema": None,
    }
    assert recorder.assistant_texts() == ["heard: hello there"]


async def test_structured_query_returns_structured_output(runtime_url: str) -> None:
    """With an output schema the result is structured_output, and the handler saw the schema."""
    result = await RuntimeUseClient(ws_url=runtime_url).query(
        prompt("echo", '{"answer": 42, "detail": {"ok": true}}'),
        query_options(output_format_json_schema_str=SCHEMA),
    )
    assert isinstance(result.data, StructuredOutputResult)
    assert result.data.structured_output == {"answer": 42, "detail": {"ok": True}}
    assert result.metadata is not None
    assert result.metadata["schema"] == json.loads(SCHEMA)["schema"]


async def test_a_bare_json_schema_is_accepted_as_the_output_format(runtime_url: str) -> None:
    """A bare JSON Schema (no json_schema wrapper) works as runtime 0.15.1 allowed; the handler gets the wrapper."""
    bare = {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]}
    result = await RuntimeUseClient(ws_url=runtime_url).query(
        prompt("echo", '{"answer": 7}'),
        query_options(output_format_json_schema_str=json.dumps(bare)),
    )
    assert isinstance(result.data, StructuredOutputResult)
    assert result.data.structured_output == {"answer": 7}
    assert result.metadata is not None
    assert result.metadata["schema"] == bare


async def test_streamed_assistant_messages_arrive_in_order(runtime_url: str) -> None:
    """Every assistant message the handler streams reaches the callback, in order, before the result."""
    recorder = Recorder()
    result = await RuntimeUseClient(ws_url=runtime_url).query(
        prompt("stream", "300"), query_options(on_assistant_message=recorder.on_assistant)
    )
    assert isinstance(result.data, TextResult)
    assert result.data.text == "sent 300"
    assert recorder.assistant_texts() == [f"part {i}" for i in range(300)]


async def test_a_message_longer_than_a_client_frame_arrives_spread_over_frames(runtime_url: str) -> None:
    """A 2 MB assistant message or command output would not fit a 1 MiB frame (0.15.1's limit):
    it arrives over several messages, in order, its text whole."""
    recorder = Recorder()
    result = await RuntimeUseClient(ws_url=runtime_url).query(
        prompt("stream", "big:1000000"),
        query_options(on_assistant_message=recorder.on_assistant, on_command_output=recorder.on_output),
    )
    assert isinstance(result.data, TextResult)
    assert result.data.text == "sent big"
    blocks = recorder.assistant_texts()
    assert blocks[0] == "before"
    assert blocks[-1] == "after"
    assert "".join(blocks) == "beforestart-" + "\u00e9" * 1_000_000 + "-endafter"
    assert len(blocks) >= 4, "the long block came in pieces"
    assert recorder.output_of("generate") == "out-" + "o" * 2_000_000 + "-put"
    assert sum(1 for kind, _, _ in recorder.events if kind == "stdout") == 2


async def test_a_throwing_handler_gives_agent_runtime_error(runtime_url: str) -> None:
    """A handler that throws ends the query with AgentRuntimeError carrying its message and handler_error."""
    with pytest.raises(AgentRuntimeError) as caught:
        await RuntimeUseClient(ws_url=runtime_url).query(prompt("fail", "throw:kaboom happened"), query_options())
    assert "kaboom happened" in caught.value.error
    assert caught.value.metadata is not None
    assert caught.value.metadata.get("code") == "handler_error"


async def test_an_error_longer_than_a_client_frame_arrives_cut_in_the_middle(runtime_url: str) -> None:
    """A 2 MB error text would not fit a 1 MiB frame (0.15.1's limit): its middle is cut, both ends arrive."""
    with pytest.raises(AgentRuntimeError) as caught:
        await RuntimeUseClient(ws_url=runtime_url).query(prompt("fail", "huge:2000000"), query_options())
    error = caught.value.error
    assert error.startswith("start-xxx")
    assert error.endswith("xxx-end")
    assert "characters cut ...]" in error
    assert len(error) < 70_000
    assert caught.value.metadata is not None
    assert caught.value.metadata.get("code") == "handler_error"


async def test_send_error_message_keeps_the_handlers_metadata(runtime_url: str) -> None:
    """sendErrorMessage's text and metadata reach the client (and the later throw does not replace them)."""
    with pytest.raises(AgentRuntimeError) as caught:
        await RuntimeUseClient(ws_url=runtime_url).query(prompt("fail", "send:reported by handler"), query_options())
    assert caught.value.error == "reported by handler"
    assert caught.value.metadata is not None
    assert caught.value.metadata.get("stage") == "handler"


async def test_error_metadata_too_large_for_a_client_frame_is_left_out(runtime_url: str) -> None:
    """2 MB of error metadata would not fit a 1 MiB frame (0.15.1's limit): the error arrives without it."""
    with pytest.raises(AgentRuntimeError) as caught:
        await RuntimeUseClient(ws_url=runtime_url).query(prompt("fail", "hugemeta:2000000"), query_options())
    assert caught.value.error == "reported"
    assert caught.value.metadata is not None
    assert caught.value.metadata.get("code") == "handler_error"
    assert "stage" not in caught.value.metadata
    assert "more than the 262144" in caught.value.metadata.get("metadata_left_out", "")


async def test_client_timeout_raises_and_aborts_the_handler(runtime_url: str, tmp_path: Path) -> None:
    """timeout raises TimeoutError; the dropped connection fires the handler's abort signal."""
    marker = tmp_path / "aborted"
    with pytest.raises(TimeoutError):
        await RuntimeUseClient(ws_url=runtime_url).query(
            prompt("wait", "abort"), query_options(timeout=3.0, agent_env={"ABORT_MARKER": str(marker)})
        )
    assert await wait_for_file(marker) == "aborted"


async def test_idle_timeout_fires_when_the_runtime_goes_quiet(runtime_url: str) -> None:
    """With the default 15 s heartbeat, a 1 s idle_timeout trips while the handler waits."""
    with pytest.raises(AgentRuntimeError) as caught:
        await RuntimeUseClient(ws_url=runtime_url).query(prompt("wait", "sleep:20000"), query_options(idle_timeout=1.0))
    assert caught.value.metadata is not None
    assert caught.value.metadata["timeout_type"] == "idle_timeout"


async def test_heartbeats_keep_an_idle_timeout_from_tripping(fast_heartbeat_url: str) -> None:
    """Heartbeats (every 100 ms here) keep a 5 s idle_timeout quiet through a 6 s handler;
    the client validates each heartbeat (elapsed_ms must be an integer)."""
    result = await RuntimeUseClient(ws_url=fast_heartbeat_url).query(
        prompt("wait", "sleep:6000"), query_options(idle_timeout=5.0)
    )
    assert isinstance(result.data, TextResult)
    assert result.data.text == "slept 6000"


async def test_abort_cancels_the_query_and_the_handler(runtime_url: str, tmp_path: Path) -> None:
    """abort() mid-handler raises CancelledException and fires the handler's signal."""
    marker = tmp_path / "aborted"
    recorder = Recorder()
    client = RuntimeUseClient(ws_url=runtime_url)
    task = asyncio.ensure_future(
        client.query(
            prompt("wait", "abort"),
            query_options(agent_env={"ABORT_MARKER": str(marker)}, on_assistant_message=recorder.on_assistant),
        )
    )
    await asyncio.wait_for(recorder.first_assistant.wait(), WAIT_S)
    client.abort()
    with pytest.raises(CancelledException):
        await asyncio.wait_for(task, WAIT_S)
    assert await wait_for_file(marker) == "aborted"
    assert "after abort" not in recorder.assistant_texts()

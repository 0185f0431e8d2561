"""The runtime as one file (dist/release/runtimeuse.mjs) run by nothing but
node from an empty folder, driven end to end by the client.

Runs unchanged with runtimeuse-client 0.15.1 and with ours.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtimeuse_client import (
    CommandInterface,
    ExecuteCommandsOptions,
    RuntimeUseClient,
    StructuredOutputResult,
    TextResult,
)
from support.interop import Recorder, query_options
from support.runtime import RuntimeProcess, start_one_file


@pytest.fixture(scope="module")
def one_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RuntimeProcess]:
    """runtimeuse.mjs --agent echo, alone in an empty folder."""
    runtime = start_one_file(tmp_path_factory.mktemp("one-file"), ["--agent", "echo"])
    yield runtime
    assert runtime.stop() is None, runtime.stderr_tail()


async def test_one_file_runtime_answers_a_query_with_the_echo_agent(one_file: RuntimeProcess) -> None:
    """A text query through runtimeuse.mjs: the echo agent streams the prompt back and returns it."""
    recorder = Recorder()
    result = await RuntimeUseClient(ws_url=one_file.url).query(
        "hello from python", query_options(on_assistant_message=recorder.on_assistant)
    )
    assert isinstance(result.data, TextResult)
    assert result.data.text == "hello from python"
    assert recorder.assistant_texts() == ["hello from python"]


async def test_one_file_runtime_runs_pre_commands_and_returns_structured_output(
    one_file: RuntimeProcess, tmp_path: Path
) -> None:
    """Pre-commands run in the sandbox folder and a schema makes the echo agent's result structured."""
    recorder = Recorder()
    marker = tmp_path / "marker.txt"
    schema = json.dumps({"type": "json_schema", "schema": {"type": "object"}})
    result = await RuntimeUseClient(ws_url=one_file.url).query(
        '{"verdict": "approve"}',
        query_options(
            output_format_json_schema_str=schema,
            pre_agent_invocation_commands=[CommandInterface(command=f"echo ran > {marker} && cat {marker}")],
            on_assistant_message=recorder.on_assistant,
        ),
    )
    assert isinstance(result.data, StructuredOutputResult)
    assert result.data.structured_output == {"verdict": "approve"}
    assert marker.read_text() == "ran\n"


async def test_one_file_runtime_executes_commands(one_file: RuntimeProcess) -> None:
    """execute_commands through runtimeuse.mjs returns each command's exit code."""
    result = await RuntimeUseClient(ws_url=one_file.url).execute_commands(
        [CommandInterface(command="echo one"), CommandInterface(command="exit 3")],
        ExecuteCommandsOptions(timeout=60),
    )
    assert [item.exit_code for item in result.results] == [0, 3]

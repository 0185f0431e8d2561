"""Commands end to end: pre/post-agent commands and command-only execution.

Runs unchanged with runtimeuse-client 0.15.1 and with ours.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from runtimeuse_client import (
    AgentRuntimeError,
    CancelledException,
    CommandInterface,
    ExecuteCommandsOptions,
    RuntimeUseClient,
    TextResult,
)
from support.interop import WAIT_S, Recorder, prompt, query_options


async def test_pre_and_post_commands_run_around_the_handler_in_their_cwd(runtime_url: str, tmp_path: Path) -> None:
    """Pre-commands run (in a cwd created for them) before the handler, post-commands after,
    with env merged; their output streams to on_command_output in that order."""
    pre_dir = tmp_path / "pre" / "nested"
    post_dir = tmp_path / "post"
    pre = CommandInterface(command="pwd; echo pre-ran", cwd=str(pre_dir))
    post = CommandInterface(command="pwd; echo post-ran $POST_VAR", cwd=str(post_dir), env={"POST_VAR": "v42"})
    recorder = Recorder()
    result = await RuntimeUseClient(ws_url=runtime_url).query(
        prompt("echo", "between"),
        query_options(
            pre_agent_invocation_commands=[pre],
            post_agent_invocation_commands=[post],
            on_assistant_message=recorder.on_assistant,
            on_command_output=recorder.on_output,
        ),
    )
    assert isinstance(result.data, TextResult)
    assert recorder.output_of(pre.command) == f"{pre_dir}\npre-ran\n"
    assert recorder.output_of(post.command) == f"{post_dir}\npost-ran v42\n"
    assert (
        recorder.first_index("stdout", pre.command)
        < recorder.first_index("assistant")
        < recorder.first_index("stdout", post.command)
    )


async def test_a_failing_pre_command_ends_the_query_before_the_handler(runtime_url: str) -> None:
    """A pre-command exiting non-zero gives 'pre-agent command failed with exit code: N'; the handler never runs."""
    recorder = Recorder()
    with pytest.raises(AgentRuntimeError) as caught:
        await RuntimeUseClient(ws_url=runtime_url).query(
            prompt("echo", "never"),
            query_options(
                pre_agent_invocation_commands=[CommandInterface(command="echo before; exit 3")],
                on_assistant_message=recorder.on_assistant,
                on_command_output=recorder.on_output,
            ),
        )
    assert caught.value.error == "pre-agent command failed with exit code: 3"
    assert recorder.assistant_texts() == []
    assert recorder.output_of("echo before; exit 3") == "before\n"


async def test_a_failing_post_command_ends_the_query(runtime_url: str) -> None:
    """A post-command exiting non-zero gives 'post-agent command failed with exit code: N'."""
    with pytest.raises(AgentRuntimeError) as caught:
        await RuntimeUseClient(ws_url=runtime_url).query(
            prompt("echo", "x"),
            query_options(post_agent_invocation_commands=[CommandInterface(command="exit 5")]),
        )
    assert caught.value.error == "post-agent command failed with exit code: 5"


async def test_execute_commands_returns_each_commands_exit_code_and_stdout(runtime_url: str, tmp_path: Path) -> None:
    """Command-only execution runs every command in order with cwd and env, streaming stdout and stderr."""
    commands = [
        CommandInterface(command="echo one"),
        CommandInterface(command="pwd", cwd=str(tmp_path / "made")),
        CommandInterface(command='printf "%s" "$GREETING"; echo oops >&2', env={"GREETING": "hi there"}),
    ]
    recorder = Recorder()
    result = await RuntimeUseClient(ws_url=runtime_url).execute_commands(
        commands, ExecuteCommandsOptions(on_command_output=recorder.on_output, timeout=120)
    )
    assert [(r.command, r.exit_code, r.stdout) for r in result.results] == [
        ("echo one", 0, "one\n"),
        ("pwd", 0, f"{tmp_path / 'made'}\n"),
        (commands[2].command, 0, "hi there"),
    ]
    assert recorder.output_of(commands[2].command, "stderr") == "oops\n"


async def test_a_failing_command_stops_the_rest(runtime_url: str, tmp_path: Path) -> None:
    """Execution stops at the first non-zero exit; the result lists the commands that ran, the failing one included."""
    never = tmp_path / "never-created"
    commands = [
        CommandInterface(command="echo first"),
        CommandInterface(command="echo second; exit 4"),
        CommandInterface(command=f"touch {never}"),
    ]
    result = await RuntimeUseClient(ws_url=runtime_url).execute_commands(commands, ExecuteCommandsOptions(timeout=120))
    assert [(r.command, r.exit_code, r.stdout) for r in result.results] == [
        ("echo first", 0, "first\n"),
        ("echo second; exit 4", 4, "second\n"),
    ]
    assert not never.exists()


async def test_output_longer_than_a_client_frame_still_returns_the_result(runtime_url: str) -> None:
    """Captured stdout too long for a 1 MiB frame (websockets' default, which 0.15.1 keeps) comes cut to its tail."""
    commands = [
        CommandInterface(command="head -c 2000000 /dev/zero | tr '\\0' a; printf END"),
        CommandInterface(command="head -c 300000 /dev/zero | tr '\\0' '\\1'"),
    ]
    result = await RuntimeUseClient(ws_url=runtime_url).execute_commands(commands, ExecuteCommandsOptions(timeout=120))
    first, second = result.results
    assert (first.exit_code, second.exit_code) == (0, 0)
    letters, controls = first.stdout or "", second.stdout or ""
    assert letters.endswith("aaaEND")
    assert set(letters) == {"a", "E", "N", "D"}
    assert set(controls) == {"\x01"}
    # Six bytes of JSON each for the control characters: together they fit in one frame.
    assert len(letters) + 6 * len(controls) < 2**20


async def test_abort_cancels_a_running_command(runtime_url: str) -> None:
    """abort() during a long command raises CancelledException once the runtime has stopped it."""
    started = asyncio.Event()

    async def on_output(message: object) -> None:
        started.set()

    client = RuntimeUseClient(ws_url=runtime_url)
    task = asyncio.ensure_future(
        client.execute_commands(
            [CommandInterface(command="echo started; sleep 60; echo finished")],
            ExecuteCommandsOptions(on_command_output=on_output, timeout=120),
        )
    )
    await asyncio.wait_for(started.wait(), WAIT_S)
    client.abort()
    with pytest.raises(CancelledException):
        await asyncio.wait_for(task, WAIT_S)

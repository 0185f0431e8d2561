"""The built-in agents end to end through the Python client: the runtime
runs ``--agent openai`` / ``--agent claude`` with the real SDK (and, for
claude, the real Claude Code binary) against a scripted model API on
loopback (packages/runtimeuse/test/support/scripted/serve.ts). The script
asks for one real shell command, then answers with text.

Runs unchanged with runtimeuse-client 0.15.1 and with ours.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from runtimeuse_client import QueryOptions, RuntimeUseClient, TextResult
from support.interop import Recorder
from support.runtime import ScriptedModel, start_agent_runtime, start_scripted_model

#: The command the scripted model asks for; PROBE comes from agent_env.
COMMAND = "echo interop-$PROBE"
FINAL = "The probe printed interop-ok."


@contextlib.contextmanager
def agent_runtime(
    agent: str, api: str, script: Sequence[Mapping[str, Any]], workdir: Path, env: Mapping[str, str]
) -> Iterator[tuple[str, ScriptedModel]]:
    """The scripted ``api`` running ``script``, and the runtime with
    ``--agent <agent>`` whose environment is ``env`` plus the base URL
    variable pointing at it. Yields (runtime URL, scripted model)."""
    model = start_scripted_model(api, script, workdir / "model")
    try:
        base_variable = "OPENAI_BASE_URL" if api == "openai" else "ANTHROPIC_BASE_URL"
        runtime = start_agent_runtime(agent, workdir / "runtime", env={**env, base_variable: model.base_url})
        try:
            yield runtime.url, model
        finally:
            died = runtime.stop()
            assert died is None, f"the runtime exited with {died}:\n{runtime.stderr_tail()}"
    finally:
        model.stop()


async def run_probe(url: str, model: str, agent_env: Mapping[str, str]) -> tuple[str, Recorder]:
    """One query through our client; returns the result text and what the callbacks saw."""
    recorder = Recorder()
    result = await RuntimeUseClient(ws_url=url).query(
        "Run the probe and tell me what it printed.",
        QueryOptions(
            system_prompt="You are an interop test.",
            model=model,
            agent_env=dict(agent_env),
            on_assistant_message=recorder.on_assistant,
            on_command_output=recorder.on_output,
            timeout=300,
        ),
    )
    assert isinstance(result.data, TextResult), result
    return result.data.text, recorder


def model_calls(model: ScriptedModel, path_prefix: str) -> list[dict[str, Any]]:
    """The JSON bodies of the model API calls the agent made, in order."""
    return [r["body"] for r in model.requests() if r["method"] == "POST" and r["path"].startswith(path_prefix)]


async def test_openai_agent_runs_a_shell_command_and_answers(tmp_path: Path) -> None:
    """--agent openai: the model's shell call runs for real with agent_env; its output
    streams to on_command_output and goes back to the model as the call's output; the
    final message is the text result."""
    script = [
        {
            "type": "output",
            "output": [
                {
                    "type": "function_call",
                    "name": "shell",
                    "arguments": {"command": COMMAND, "timeout_ms": None},
                    "callId": "call_probe",
                }
            ],
        },
        {"type": "output", "output": [{"type": "message", "text": FINAL}]},
    ]
    with agent_runtime("openai", "openai", script, tmp_path, {"OPENAI_API_KEY": "test"}) as (url, model):
        text, recorder = await run_probe(url, "gpt-4.1", {"PROBE": "ok"})
        calls = model_calls(model, "/v1/responses")

    assert text == FINAL
    assert recorder.output_of(COMMAND) == "interop-ok\n"
    assert f"[tool] shell: {COMMAND}" in recorder.assistant_texts()
    assert [call["model"] for call in calls] == ["gpt-4.1", "gpt-4.1"]
    outputs = [
        item["output"]
        for item in calls[1]["input"]
        if item.get("type") == "function_call_output" and item.get("call_id") == "call_probe"
    ]
    assert len(outputs) == 1, calls[1]["input"]
    assert "interop-ok" in str(outputs[0])


async def test_claude_agent_runs_a_bash_command_and_answers(tmp_path: Path) -> None:
    """--agent claude: Claude Code's Bash tool_use runs for real with agent_env; its output
    reaches on_command_output and goes back to the model as the tool_result; the final
    text is the result."""
    config_dir = tmp_path / "claude-config"
    config_dir.mkdir()
    script = [
        {
            "type": "output",
            "content": [
                {
                    "type": "tool_use",
                    "name": "Bash",
                    "input": {"command": COMMAND, "description": "print the probe"},
                    "id": "toolu_probe",
                }
            ],
        },
        {"type": "output", "content": [{"type": "text", "text": FINAL}]},
    ]
    env = {"ANTHROPIC_API_KEY": "test"}
    with agent_runtime("claude", "anthropic", script, tmp_path, env) as (url, model):
        # CLAUDE_CONFIG_DIR keeps Claude Code's own state out of the machine's ~/.claude.
        text, recorder = await run_probe(
            url, "claude-sonnet-4-5", {"PROBE": "ok", "CLAUDE_CONFIG_DIR": str(config_dir)}
        )
        calls = model_calls(model, "/v1/messages")

    assert text == FINAL
    assert "interop-ok" in recorder.output_of(COMMAND)
    assert f"[tool] Bash: {COMMAND}" in recorder.assistant_texts()
    tool_results = [
        block
        for call in calls
        for message in call["messages"]
        if isinstance(message.get("content"), list)
        for block in message["content"]
        if block.get("type") == "tool_result" and block.get("tool_use_id") == "toolu_probe"
    ]
    assert tool_results, f"no tool_result for toolu_probe in {len(calls)} model calls"
    assert "interop-ok" in str(tool_results[-1]["content"])

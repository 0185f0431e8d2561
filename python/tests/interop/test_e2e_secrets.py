"""Secrets end to end: every value in secrets_to_redact is replaced by
[REDACTED] in everything the runtime sends.

Runs unchanged with runtimeuse-client 0.15.1 and with ours.
"""

from __future__ import annotations

import json

import pytest

from runtimeuse_client import AgentRuntimeError, CommandInterface, ExecuteCommandsOptions, RuntimeUseClient, TextResult
from support.interop import Recorder, prompt, query_options

SECRET = "hunter2-Zq9xV"
REDACTED = "[REDACTED]"


def secret_options(recorder: Recorder) -> dict[str, object]:
    return {
        "agent_env": {"THE_SECRET": SECRET},
        "secrets_to_redact": [SECRET],
        "pre_agent_invocation_commands": [CommandInterface(command=f"echo pre says {SECRET}")],
        "on_assistant_message": recorder.on_assistant,
        "on_command_output": recorder.on_output,
    }


async def test_secret_is_redacted_from_output_assistant_text_and_result(runtime_url: str) -> None:
    """Command output (and its command field), assistant text, the result text and its metadata are redacted."""
    recorder = Recorder()
    result = await RuntimeUseClient(ws_url=runtime_url).query(
        prompt("secret", "ok"), query_options(**secret_options(recorder))
    )
    assert isinstance(result.data, TextResult)
    assert result.data.text == f"result says {REDACTED}"
    assert result.metadata == {"leaked": REDACTED, "nested": [REDACTED]}
    assert recorder.assistant_texts() == [f"assistant says {REDACTED}", "clean block"]
    assert recorder.output_of(f"echo pre says {REDACTED}") == f"pre says {REDACTED}\n"
    handler_command = f"echo command says {REDACTED}; echo stderr says {REDACTED} >&2"
    assert recorder.output_of(handler_command) == f"command says {REDACTED}\n"
    assert recorder.output_of(handler_command, "stderr") == f"stderr says {REDACTED}\n"
    assert SECRET not in json.dumps(recorder.events)


async def test_secret_is_redacted_from_the_error(runtime_url: str) -> None:
    """A handler error that contains the secret arrives redacted."""
    recorder = Recorder()
    with pytest.raises(AgentRuntimeError) as caught:
        await RuntimeUseClient(ws_url=runtime_url).query(
            prompt("secret", "fail"), query_options(**secret_options(recorder))
        )
    assert caught.value.error == f"failed holding {REDACTED}"
    assert SECRET not in str(caught.value)
    assert SECRET not in json.dumps(recorder.events)


async def test_secret_is_redacted_from_command_execution_results(runtime_url: str) -> None:
    """Command-only execution redacts streamed output and the result's command and stdout."""
    recorder = Recorder()
    result = await RuntimeUseClient(ws_url=runtime_url).execute_commands(
        [CommandInterface(command=f"echo {SECRET} twice {SECRET}")],
        ExecuteCommandsOptions(secrets_to_redact=[SECRET], on_command_output=recorder.on_output, timeout=120),
    )
    item = result.results[0]
    assert item.stdout == f"{REDACTED} twice {REDACTED}\n"
    assert item.command == f"echo {REDACTED} twice {REDACTED}"
    assert SECRET not in json.dumps(recorder.events)
    assert recorder.events

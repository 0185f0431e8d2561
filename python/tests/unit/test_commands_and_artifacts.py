"""execute_commands, and the artifact upload handshake with its pairing rule."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from runtimeuse_client import (
    AgentRuntimeError,
    ArtifactUploadRequestMessageInterface,
    ArtifactUploadResult,
    CommandInterface,
    CommandOutputMessageInterface,
    ExecuteCommandsOptions,
    QueryOptions,
    RuntimeEnvironmentDownloadableInterface,
    RuntimeUseClient,
)
from support import wire
from support.memory import MemoryTransport, Peer, Script

Memory = Callable[[Script], MemoryTransport]


async def test_execute_commands_returns_one_result_per_command(memory: Memory) -> None:
    """command_execution_result_message becomes a CommandExecutionResult; output streams to the callback."""

    async def script(peer: Peer) -> None:
        await peer.receive_type("command_execution_message")
        await peer.send(wire.output("hi\n", command="echo hi"))
        await peer.send(wire.commands_result(("echo hi", 0, "hi\n"), ("true", 0, "")))

    chunks: list[str] = []

    async def on_output(message: CommandOutputMessageInterface) -> None:
        chunks.append(message.text)

    result = await RuntimeUseClient(transport=memory(script)).execute_commands(
        [CommandInterface(command="echo hi"), CommandInterface(command="true")],
        ExecuteCommandsOptions(on_command_output=on_output),
    )
    assert [(r.command, r.exit_code, r.stdout) for r in result.results] == [("echo hi", 0, "hi\n"), ("true", 0, "")]
    assert chunks == ["hi\n"]


async def test_command_execution_message_carries_every_option(memory: Memory) -> None:
    """ExecuteCommandsOptions fields land in command_execution_message under their wire names."""

    async def script(peer: Peer) -> None:
        await peer.receive()
        await peer.send(wire.commands_result())

    async def on_upload(_: Any) -> Any:
        raise AssertionError("not called")

    transport = memory(script)
    await RuntimeUseClient(transport=transport).execute_commands(
        [CommandInterface(command="ls", cwd="/tmp", env={"X": "1"})],
        ExecuteCommandsOptions(
            secrets_to_redact=["pw"],
            source_id="job-7",
            artifacts_dirs=["/a", "/b"],
            artifacts_ignore_content="tmp/",
            pre_execution_downloadables=[RuntimeEnvironmentDownloadableInterface(download_url="u", working_dir="/d")],
            on_artifact_upload_request=on_upload,
        ),
    )
    sent = transport.peer.sent_by_client[0]
    assert sent["message_type"] == "command_execution_message"
    assert sent["commands"] == [{"command": "ls", "cwd": "/tmp", "env": {"X": "1"}}]
    assert sent["secrets_to_redact"] == ["pw"]
    assert sent["source_id"] == "job-7"
    assert sent["artifacts_dirs"] == ["/a", "/b"]
    assert sent["artifacts_ignore_content"] == "tmp/"
    assert sent["pre_execution_downloadables"] == [{"download_url": "u", "working_dir": "/d"}]


async def test_a_failing_command_raises_agent_runtime_error(memory: Memory) -> None:
    """An error_message for a command execution raises AgentRuntimeError."""

    async def script(peer: Peer) -> None:
        await peer.receive()
        await peer.send(wire.error("command failed with exit code: 3", code="command_failed"))

    with pytest.raises(AgentRuntimeError) as caught:
        await RuntimeUseClient(transport=memory(script)).execute_commands(
            [CommandInterface(command="exit 3")], ExecuteCommandsOptions()
        )
    assert caught.value.code == "command_failed"


async def test_artifact_request_is_answered_with_the_callbacks_url(memory: Memory) -> None:
    """The callback's URL and content type go back in artifact_upload_response_message."""
    answered: list[dict[str, Any]] = []

    async def script(peer: Peer) -> None:
        await peer.receive_type("invocation_message")
        await peer.send(wire.upload_request("/out/a.txt"))
        answered.append(await peer.receive_type("artifact_upload_response_message"))
        await peer.send(wire.text_result("ok"))

    seen: list[str] = []

    async def on_upload(request: ArtifactUploadRequestMessageInterface) -> ArtifactUploadResult:
        seen.append(request.filepath)
        return ArtifactUploadResult(presigned_url=f"http://store/{request.filename}", content_type="text/plain")

    await RuntimeUseClient(transport=memory(script)).query(
        "p", QueryOptions(system_prompt="s", model="m", artifacts_dirs=["/out"], on_artifact_upload_request=on_upload)
    )
    assert seen == ["/out/a.txt"]
    assert answered == [
        {
            "message_type": "artifact_upload_response_message",
            "filename": "a.txt",
            "filepath": "/out/a.txt",
            "presigned_url": "http://store/a.txt",
            "content_type": "text/plain",
        }
    ]


async def test_artifact_request_without_a_callback_is_left_unanswered(memory: Memory) -> None:
    """With no callback configured the request is logged and skipped, not fatal."""

    async def script(peer: Peer) -> None:
        await peer.receive()
        await peer.send(wire.upload_request("/elsewhere/x"))
        await peer.send(wire.text_result("ok"))

    transport = memory(script)
    await RuntimeUseClient(transport=transport).query("p", QueryOptions(system_prompt="s", model="m"))
    assert [m["message_type"] for m in transport.peer.sent_by_client] == ["invocation_message"]


async def _upload(_: ArtifactUploadRequestMessageInterface) -> ArtifactUploadResult:
    return ArtifactUploadResult(presigned_url="u", content_type="c")


@pytest.mark.parametrize("options_cls", [QueryOptions, ExecuteCommandsOptions])
@pytest.mark.parametrize(
    ("dirs", "callback", "ok"),
    [
        (None, None, True),
        ([], None, True),
        (["/out"], _upload, True),
        (["/out"], None, False),
        (None, _upload, False),
        ([], _upload, False),
    ],
)
def test_artifacts_dirs_and_upload_callback_come_together(
    options_cls: type[Any], dirs: list[str] | None, callback: Any, ok: bool
) -> None:
    """artifacts_dirs (non-empty) and on_artifact_upload_request are both set or both unset."""
    base = {"system_prompt": "s", "model": "m"} if options_cls is QueryOptions else {}
    if ok:
        options_cls(**base, artifacts_dirs=dirs, on_artifact_upload_request=callback)
    else:
        with pytest.raises(ValueError, match="artifacts_dirs and on_artifact_upload_request"):
            options_cls(**base, artifacts_dirs=dirs, on_artifact_upload_request=callback)

"""One-shot queries against a scripted in-memory runtime."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from runtimeuse_client import (
    AgentRuntimeError,
    ArtifactUploadRequestMessageInterface,
    ArtifactUploadResult,
    AssistantMessageInterface,
    CommandInterface,
    CommandOutputMessageInterface,
    HeartbeatMessageInterface,
    QueryOptions,
    RuntimeEnvironmentDownloadableInterface,
    RuntimeUseClient,
    StructuredOutputResult,
    TextResult,
)
from support import wire
from support.memory import MemoryTransport, Peer, Script

Memory = Callable[[Script], MemoryTransport]


def opts(**kwargs: Any) -> QueryOptions:
    return QueryOptions(**{"system_prompt": "sys", "model": "m", **kwargs})


async def test_text_query_returns_the_text_result_and_metadata(memory: Memory) -> None:
    """A result_message with text data becomes a TextResult with its metadata."""

    async def script(peer: Peer) -> None:
        await peer.receive_type("invocation_message")
        await peer.send(wire.text_result("hello", {"turns": 2}))

    result = await RuntimeUseClient(transport=memory(script)).query("hi", opts())
    assert isinstance(result.data, TextResult)
    assert result.data.text == "hello"
    assert result.metadata == {"turns": 2}


async def test_structured_query_returns_structured_output(memory: Memory) -> None:
    """A structured_output result arrives as a StructuredOutputResult."""

    async def script(peer: Peer) -> None:
        await peer.receive()
        await peer.send(wire.structured_result({"n": 3}))

    schema = '{"type": "json_schema", "schema": {"type": "object"}}'
    result = await RuntimeUseClient(transport=memory(script)).query("hi", opts(output_format_json_schema_str=schema))
    assert isinstance(result.data, StructuredOutputResult)
    assert result.data.structured_output == {"n": 3}


async def test_invocation_carries_every_option_under_its_wire_name(memory: Memory) -> None:
    """Each QueryOptions field lands in the invocation_message as the protocol names it."""

    async def script(peer: Peer) -> None:
        await peer.receive()
        await peer.send(wire.text_result("ok"))

    async def on_upload(_: Any) -> Any:
        raise AssertionError("not called")

    transport = memory(script)
    schema = '{"type": "json_schema", "schema": {}}'
    await RuntimeUseClient(transport=transport).query(
        "the prompt",
        opts(
            output_format_json_schema_str=schema,
            source_id="src-1",
            agent_env={"A": "1"},
            secrets_to_redact=["s3cr3t"],
            artifacts_dirs=["/out"],
            artifacts_ignore_content="*.log",
            pre_agent_invocation_commands=[CommandInterface(command="echo pre", cwd="/w")],
            post_agent_invocation_commands=[CommandInterface(command="echo post", env={"B": "2"})],
            pre_agent_downloadables=[
                RuntimeEnvironmentDownloadableInterface(download_url="http://x/a", working_dir="/d")
            ],
            on_artifact_upload_request=on_upload,
            conversation_id="c-1",
            agent="codex",
        ),
    )
    sent = transport.peer.sent_by_client[0]
    assert sent["message_type"] == "invocation_message"
    assert sent["agent"] == "codex"
    assert sent["user_prompt"] == "the prompt"
    assert sent["system_prompt"] == "sys"
    assert sent["model"] == "m"
    assert sent["output_format_json_schema_str"] == schema
    assert sent["source_id"] == "src-1"
    assert sent["agent_env"] == {"A": "1"}
    assert sent["secrets_to_redact"] == ["s3cr3t"]
    assert sent["artifacts_dirs"] == ["/out"]
    assert sent["artifacts_ignore_content"] == "*.log"
    assert sent["pre_agent_invocation_commands"] == [{"command": "echo pre", "cwd": "/w", "env": None}]
    assert sent["post_agent_invocation_commands"] == [{"command": "echo post", "cwd": None, "env": {"B": "2"}}]
    assert sent["pre_agent_downloadables"] == [{"download_url": "http://x/a", "working_dir": "/d"}]
    assert sent["conversation_id"] == "c-1"


async def test_unset_options_are_sent_as_null_and_an_empty_artifacts_list_as_null(memory: Memory) -> None:
    """Unset optional fields go out as null, and artifacts_dirs=[] counts as unset."""

    async def script(peer: Peer) -> None:
        await peer.receive()
        await peer.send(wire.text_result("ok"))

    transport = memory(script)
    await RuntimeUseClient(transport=transport).query("p", opts(artifacts_dirs=[]))
    sent = transport.peer.sent_by_client[0]
    assert sent["artifacts_dirs"] is None
    assert sent["agent_env"] is None
    assert sent["agent"] is None
    assert sent["output_format_json_schema_str"] is None
    assert sent["secrets_to_redact"] == []
    assert sent["conversation_id"] is None


async def test_progress_messages_reach_their_callbacks_in_order(memory: Memory) -> None:
    """Assistant messages, command output and heartbeats go to their callbacks in arrival order."""

    async def script(peer: Peer) -> None:
        await peer.receive()
        await peer.send(wire.output("pre out", command="echo pre"))
        await peer.send(wire.heartbeat(15000))
        await peer.send(wire.assistant("one"))
        await peer.send(wire.assistant("two", "three"))
        await peer.send(wire.output("err", stream="stderr"))
        await peer.send(wire.text_result("done"))

    seen: list[str] = []

    async def on_assistant(message: AssistantMessageInterface) -> None:
        seen.append("assistant:" + "|".join(message.text_blocks))

    async def on_output(message: CommandOutputMessageInterface) -> None:
        seen.append(f"{message.stream}:{message.text}:{message.command}")

    async def on_heartbeat(message: HeartbeatMessageInterface) -> None:
        seen.append(f"heartbeat:{message.phase}:{message.elapsed_ms}")

    result = await RuntimeUseClient(transport=memory(script)).query(
        "p", opts(on_assistant_message=on_assistant, on_command_output=on_output, on_heartbeat=on_heartbeat)
    )
    assert isinstance(result.data, TextResult)
    assert seen == [
        "stdout:pre out:echo pre",
        "heartbeat:agent:15000",
        "assistant:one",
        "assistant:two|three",
        "stderr:err:cmd",
    ]


@pytest.mark.parametrize(
    ("frame", "code", "field"),
    [
        ("not json", "invalid_json", None),
        ("[1, 2]", "not_an_object", None),
        ('{"message_type": "something_new", "x": 1}', "unknown_message_type", "message_type"),
        ('{"no_type": true}', "unknown_message_type", "message_type"),
        ('{"message_type": "assistant_message", "text_blocks": "one"}', "invalid_field", "text_blocks"),
        (
            '{"message_type": "command_output_message", "stream": "stdin", "text": "", "command": ""}',
            "invalid_field",
            "stream",
        ),
    ],
)
async def test_a_frame_that_fails_validation_ends_the_request_with_the_protocols_code(
    memory: Memory, frame: str, code: str, field: str | None
) -> None:
    """A malformed frame is an AgentRuntimeError carrying the protocol's code, the field and the frame's start."""

    async def script(peer: Peer) -> None:
        await peer.receive()
        await peer.send(wire.assistant("before"))
        await peer.send_raw(frame)
        await peer.send(wire.text_result("never returned"))

    seen: list[str] = []

    async def on_assistant(message: AssistantMessageInterface) -> None:
        seen.extend(message.text_blocks)

    with pytest.raises(AgentRuntimeError) as caught:
        await RuntimeUseClient(transport=memory(script)).query("p", opts(on_assistant_message=on_assistant))
    assert caught.value.code == code
    assert (caught.value.metadata or {}).get("field") == field
    assert (caught.value.metadata or {})["frame"] == frame
    assert caught.value.error.startswith("the runtime sent a malformed frame: ")
    assert seen == ["before"]


async def test_error_message_raises_agent_runtime_error_with_metadata(memory: Memory) -> None:
    """error_message ends the request with AgentRuntimeError carrying error and metadata."""

    async def script(peer: Peer) -> None:
        await peer.receive()
        await peer.send(wire.error("handler blew up", code="handler_error"))

    with pytest.raises(AgentRuntimeError) as caught:
        await RuntimeUseClient(transport=memory(script)).query("p", opts())
    assert caught.value.error == "handler blew up"
    assert caught.value.metadata == {"code": "handler_error"}
    assert caught.value.code == "handler_error"
    assert str(caught.value) == 'handler blew up\nmetadata: {"code": "handler_error"}'


async def test_first_error_ends_the_request_and_later_messages_are_not_read(memory: Memory) -> None:
    """After an error_message nothing else is delivered to callbacks."""

    async def script(peer: Peer) -> None:
        await peer.receive()
        await peer.send(wire.error("first"))
        await peer.send(wire.assistant("late"))
        await peer.send(wire.text_result("late"))

    seen: list[str] = []

    async def on_assistant(message: AssistantMessageInterface) -> None:
        seen.extend(message.text_blocks)

    with pytest.raises(AgentRuntimeError, match="first"):
        await RuntimeUseClient(transport=memory(script)).query("p", opts(on_assistant_message=on_assistant))
    assert seen == []


async def test_connection_closing_before_a_terminal_raises(memory: Memory) -> None:
    """A stream that ends without a terminal raises AgentRuntimeError (connection_closed)."""

    async def script(peer: Peer) -> None:
        await peer.receive()
        await peer.send(wire.assistant("partial"))
        peer.close()

    with pytest.raises(AgentRuntimeError) as caught:
        await RuntimeUseClient(transport=memory(script)).query("p", opts())
    assert caught.value.code == "connection_closed"


async def test_malformed_terminal_still_ends_the_request(memory: Memory) -> None:
    """A result_message that fails validation ends the request with invalid_field naming the field."""

    async def script(peer: Peer) -> None:
        await peer.receive()
        await peer.send({"message_type": "result_message", "data": {"type": "text"}})

    with pytest.raises(AgentRuntimeError) as caught:
        await RuntimeUseClient(transport=memory(script)).query("p", opts())
    assert caught.value.code == "invalid_field"
    assert (caught.value.metadata or {})["field"] == "data.text"


async def test_terminal_of_the_wrong_kind_ends_the_request(memory: Memory) -> None:
    """A command_execution_result_message answering a query is reported, not waited past."""

    async def script(peer: Peer) -> None:
        await peer.receive()
        await peer.send(wire.commands_result(("ls", 0, "")))

    with pytest.raises(AgentRuntimeError) as caught:
        await RuntimeUseClient(transport=memory(script)).query("p", opts())
    assert caught.value.code == "unexpected_message"
    assert caught.value.error == "the runtime sent command_execution_result_message in answer to invocation_message"


async def test_malformed_output_schema_is_refused_before_connecting(memory: Memory) -> None:
    """A bad output_format_json_schema_str raises AgentRuntimeError(invalid_field) and opens no connection."""

    async def script(peer: Peer) -> None:
        raise AssertionError("no connection expected")

    transport = memory(script)
    with pytest.raises(AgentRuntimeError) as caught:
        await RuntimeUseClient(transport=transport).query("p", opts(output_format_json_schema_str="{nope"))
    assert caught.value.code == "invalid_field"
    assert transport.peers == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[1]", "received array"),
        ('"object"', "received string"),
        ('{"type": "json_schema", "schema": "object"}', "with an object schema"),
    ],
)
async def test_an_output_format_that_is_no_schema_is_refused_naming_why(
    memory: Memory, text: str, problem: str
) -> None:
    """JSON that is not an object, or a json_schema wrapper without an object schema, is refused before sending."""

    async def script(peer: Peer) -> None:
        raise AssertionError("no connection expected")

    with pytest.raises(AgentRuntimeError) as caught:
        await RuntimeUseClient(transport=memory(script)).query("p", opts(output_format_json_schema_str=text))
    assert caught.value.code == "invalid_field"
    assert problem in caught.value.error


@pytest.mark.parametrize("options", [None, {"system_prompt": "s", "model": "m"}, "opts"])
async def test_options_of_another_kind_are_refused_naming_the_call(memory: Memory, options: Any) -> None:
    """None, a dict or a string where the options go raise TypeError naming the call, and nothing is sent."""

    async def script(peer: Peer) -> None:
        raise AssertionError("no connection expected")

    transport = memory(script)
    client = RuntimeUseClient(transport=transport)
    with pytest.raises(TypeError, match=rf"^query options: expected QueryOptions, got {type(options).__name__}$"):
        await client.query("p", options)
    with pytest.raises(
        TypeError, match=rf"^execute_commands options: expected ExecuteCommandsOptions, got {type(options).__name__}$"
    ):
        await client.execute_commands([], options)
    assert transport.peers == []


@pytest.mark.parametrize("conversation_id", ["", "../c1", ".hidden", "a" * 129, "my chat"])
async def test_unusable_conversation_id_is_refused_before_connecting(memory: Memory, conversation_id: str) -> None:
    """A conversation_id the runtime would refuse raises AgentRuntimeError(invalid_conversation_id), unsent."""

    async def script(peer: Peer) -> None:
        raise AssertionError("no connection expected")

    transport = memory(script)
    with pytest.raises(AgentRuntimeError) as caught:
        await RuntimeUseClient(transport=transport).query("p", opts(conversation_id=conversation_id))
    assert caught.value.code == "invalid_conversation_id"
    assert (caught.value.metadata or {}).get("field") == "conversation_id"
    assert transport.peers == []


@pytest.mark.parametrize(
    ("options", "field", "problem"),
    [
        ({"agent_env": {"TOKEN": "a\u0000b"}}, "agent_env.TOKEN", "NUL character"),
        ({"agent_env": {"A=B": "1"}}, 'agent_env["A=B"]', "must not contain '='"),
        ({"agent_env": {"": "1"}}, 'agent_env[""]', "must be non-empty"),
        ({"artifacts_dirs": ["/out", "/a\u0000b"]}, "artifacts_dirs[1]", "NUL character"),
        ({"model": "claude-x\u0000--debug"}, "model", "NUL character"),
    ],
)
async def test_text_the_os_cannot_take_is_refused_before_connecting(
    memory: Memory, options: dict[str, Any], field: str, problem: str
) -> None:
    """NUL in an environment entry or a path, or '=' in a variable name, raises invalid_field naming it, unsent."""

    async def script(peer: Peer) -> None:
        raise AssertionError("no connection expected")

    async def on_upload(request: ArtifactUploadRequestMessageInterface) -> ArtifactUploadResult:
        raise AssertionError("no upload expected")

    if "artifacts_dirs" in options:
        options["on_artifact_upload_request"] = on_upload
    transport = memory(script)
    with pytest.raises(AgentRuntimeError) as caught:
        await RuntimeUseClient(transport=transport).query("p", opts(**options))
    assert caught.value.code == "invalid_field"
    assert (caught.value.metadata or {}).get("field") == field
    assert caught.value.error.startswith(f"{field}: ")
    assert problem in caught.value.error
    assert transport.peers == []


def test_a_command_the_os_cannot_take_is_refused_where_it_is_made() -> None:
    """CommandInterface refuses NUL in its command, cwd or environment, and '=' in a variable name."""
    refused: list[dict[str, Any]] = [
        {"command": "a\u0000b"},
        {"command": "ls", "cwd": "/a\u0000"},
        {"command": "ls", "env": {"A=B": "1"}},
    ]
    for fields in refused:
        with pytest.raises(ValueError, match=r"NUL character|must not contain '='"):
            CommandInterface(**fields)
    assert CommandInterface(command="env", env={"MY-VAR.x": "a=b c", "EMPTY": ""}).env == {
        "MY-VAR.x": "a=b c",
        "EMPTY": "",
    }


def test_client_needs_a_url_or_a_transport() -> None:
    """RuntimeUseClient() with neither ws_url nor transport is a ValueError."""
    with pytest.raises(ValueError, match="ws_url or transport"):
        RuntimeUseClient()


def test_token_and_headers_apply_only_to_the_builtin_transport(memory: Memory) -> None:
    """token/headers alongside a custom transport are refused rather than ignored."""

    async def script(peer: Peer) -> None:
        pass

    with pytest.raises(ValueError, match="token and headers"):
        RuntimeUseClient(transport=memory(script), token="t")


def test_transport_wins_over_ws_url(memory: Memory) -> None:
    """With both ws_url and transport, the transport is used (as in 0.15.1)."""

    async def script(peer: Peer) -> None:
        pass

    transport = memory(script)
    client = RuntimeUseClient(ws_url="ws://127.0.0.1:1", transport=transport)
    assert client._transport is transport

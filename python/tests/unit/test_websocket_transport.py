"""The WebSocket transport against a real websockets server on 127.0.0.1:0."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve

from runtimeuse_client import (
    AgentRuntimeError,
    ArtifactUploadRequestMessageInterface,
    ArtifactUploadResult,
    QueryOptions,
    RuntimeUseClient,
    TextResult,
    WebSocketTransport,
)
from support import wire
from support.memory import WAIT_S

Handler = Callable[[ServerConnection], Awaitable[None]]


class Server:
    """A scripted runtime behind a real WebSocket server."""

    def __init__(self) -> None:
        self.handler: Handler | None = None
        self.headers: list[dict[str, str]] = []
        self.url = ""

    async def _serve(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        self.headers.append({k.lower(): v for k, v in ws.request.headers.raw_items()})
        assert self.handler is not None
        await self.handler(ws)


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    state = Server()
    async with serve(state._serve, "127.0.0.1", 0, max_size=None) as ws_server:
        port = next(iter(ws_server.sockets)).getsockname()[1]
        state.url = f"ws://127.0.0.1:{port}"
        yield state


async def receive(ws: ServerConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), WAIT_S))
    return message


def opts(**kwargs: Any) -> QueryOptions:
    return QueryOptions(system_prompt="s", model="m", **kwargs)


async def test_token_is_sent_as_a_bearer_header_with_the_extra_headers(server: Server) -> None:
    """token becomes Authorization: Bearer <token>; headers are added to the handshake."""

    async def handler(ws: ServerConnection) -> None:
        await receive(ws)
        await ws.send(json.dumps(wire.text_result("ok")))

    server.handler = handler
    client = RuntimeUseClient(server.url, token="t0k", headers={"X-Sandbox": "abc"})
    await client.query("p", opts())
    assert server.headers[0]["authorization"] == "Bearer t0k"
    assert server.headers[0]["x-sandbox"] == "abc"


def test_token_and_an_authorization_header_conflict() -> None:
    """Giving both token and an Authorization header is refused, as is an empty token."""
    with pytest.raises(ValueError, match="not both"):
        WebSocketTransport("ws://x", token="a", headers={"authorization": "b"})
    with pytest.raises(ValueError, match="non-empty"):
        WebSocketTransport("ws://x", token="")


async def test_a_result_larger_than_the_default_frame_limit_arrives(server: Server) -> None:
    """A 3 MiB result (websockets' default limit is 1 MiB) is received whole."""
    big = "x" * (3 * 1024 * 1024)

    async def handler(ws: ServerConnection) -> None:
        await receive(ws)
        await ws.send(json.dumps(wire.text_result(big)))

    server.handler = handler
    result = await RuntimeUseClient(server.url).query("p", opts())
    assert isinstance(result.data, TextResult)
    assert len(result.data.text) == len(big)


async def test_an_answer_queued_just_before_the_terminal_is_still_sent(server: Server) -> None:
    """An upload response queued right before the terminal is read still goes out before the close."""
    got: list[dict[str, Any]] = []

    async def handler(ws: ServerConnection) -> None:
        await receive(ws)
        await ws.send(json.dumps(wire.upload_request("/out/a")))
        await ws.send(json.dumps(wire.text_result("done")))
        got.append(await receive(ws))

    async def on_upload(request: ArtifactUploadRequestMessageInterface) -> ArtifactUploadResult:
        return ArtifactUploadResult(presigned_url="http://u", content_type="text/plain")

    server.handler = handler
    await RuntimeUseClient(server.url).query("p", opts(artifacts_dirs=["/out"], on_artifact_upload_request=on_upload))
    for _ in range(200):
        if got:
            break
        await asyncio.sleep(0.05)
    assert got, "the upload response never reached the server"
    assert got[0]["message_type"] == "artifact_upload_response_message"


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("garbage{", "invalid_json"),
        (json.dumps([1, 2]), "not_an_object"),
        (b'{"message_type": "heartbeat_message"}', "binary_frame"),
    ],
)
async def test_frames_that_are_not_a_json_object_in_text_end_the_request(
    server: Server, frame: str | bytes, code: str
) -> None:
    """A frame that is not JSON text holding an object ends the request with the protocol's code."""

    async def handler(ws: ServerConnection) -> None:
        await receive(ws)
        await ws.send(frame)
        await ws.send(json.dumps(wire.text_result("ok")))

    server.handler = handler
    with pytest.raises(AgentRuntimeError) as caught:
        await RuntimeUseClient(server.url).query("p", opts())
    assert caught.value.code == code


async def test_the_server_closing_mid_request_raises_connection_closed(server: Server) -> None:
    """A runtime that drops the connection before the terminal gives AgentRuntimeError(connection_closed)."""

    async def handler(ws: ServerConnection) -> None:
        await receive(ws)
        await ws.close()

    server.handler = handler
    with pytest.raises(AgentRuntimeError) as caught:
        await RuntimeUseClient(server.url).query("p", opts())
    assert caught.value.code == "connection_closed"


async def test_session_end_returns_the_confirm_with_its_manifest(server: Server) -> None:
    """Over a real socket, session exit sends end_session_message and keeps the confirm's manifest."""

    async def handler(ws: ServerConnection) -> None:
        assert (await receive(ws))["message_type"] == "invocation_message"
        await ws.send(json.dumps(wire.text_result("one")))
        assert (await receive(ws))["message_type"] == "end_session_message"
        await ws.send(json.dumps(wire.confirm([{"filepath": "/o/f", "size": 0, "status": "not_requested"}])))
        await ws.close()

    server.handler = handler
    async with RuntimeUseClient(server.url).session() as session:
        await session.query("p", opts())
    assert session.artifacts is not None
    assert session.artifacts[0].status == "not_requested"


async def test_a_resume_attempt_left_unanswered_is_dropped_before_the_next(server: Server) -> None:
    """A resume attempt whose resumed_message never comes is dropped (no close frame); the next one resumes."""
    opened: list[str] = []
    attempt_closed = asyncio.Event()
    attempt_close_code: list[int | None] = []
    client_seq = 0

    async def handler(ws: ServerConnection) -> None:
        nonlocal client_seq
        assert ws.request is not None
        opened.append(ws.request.path)
        if len(opened) == 1:
            await ws.send(json.dumps(wire.session_announcement()))
            client_seq = int((await receive(ws)).get("seq", 0))
            ws.transport.abort()
        elif len(opened) == 2:
            # Accepted, then silent: the client gives this attempt up after its time.
            await ws.wait_closed()
            attempt_close_code.append(ws.close_code)
            attempt_closed.set()
        else:
            await ws.send(json.dumps(wire.resumed("sid", client_seq)))
            await ws.send(json.dumps({**wire.text_result("after the resume"), "seq": 1}))
            await ws.wait_closed()

    server.handler = handler
    transport = WebSocketTransport(server.url, max_reconnect_delay=0.2, ping_interval=5)
    result = await RuntimeUseClient(transport=transport).query("p", opts())
    assert isinstance(result.data, TextResult)
    assert result.data.text == "after the resume"
    assert result.metadata is not None
    assert result.metadata.get("reconnects") == 1
    assert len(opened) == 3
    assert all("resume=sid" in path for path in opened[1:])
    # Without a close frame: a close with 1000 would end the session if the runtime had accepted it after all.
    await asyncio.wait_for(attempt_closed.wait(), WAIT_S)
    assert attempt_close_code == [1006]


async def test_cancelling_a_call_during_a_resume_attempt_drops_that_attempts_socket(server: Server) -> None:
    """A call cancelled while a resume attempt waits for resumed_message leaves no socket open behind it."""
    attempt_open = asyncio.Event()
    attempt_closed = asyncio.Event()
    attempt_close_code: list[int | None] = []

    async def handler(ws: ServerConnection) -> None:
        assert ws.request is not None
        if "resume=" not in ws.request.path:
            await ws.send(json.dumps(wire.session_announcement()))
            await receive(ws)
            ws.transport.abort()
            return
        attempt_open.set()
        await ws.wait_closed()
        attempt_close_code.append(ws.close_code)
        attempt_closed.set()

    server.handler = handler
    # Each attempt may wait up to 5 s for its answer: the cancel lands well inside it.
    transport = WebSocketTransport(server.url, max_reconnect_delay=5, ping_interval=5)
    call = asyncio.ensure_future(RuntimeUseClient(transport=transport).query("p", opts()))
    await asyncio.wait_for(attempt_open.wait(), WAIT_S)
    # Past the handshake on the client's side too: the attempt is waiting for its answer.
    await asyncio.sleep(0.5)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    await asyncio.wait_for(attempt_closed.wait(), WAIT_S)
    assert attempt_close_code == [1006]

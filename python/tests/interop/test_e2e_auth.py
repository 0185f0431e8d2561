"""Token authentication end to end: a runtime started with ``--token`` serves
a client that puts the token in the URL (``?token=``) and refuses one with a
wrong token or none at the opening handshake (HTTP 401).

Runs unchanged with runtimeuse-client 0.15.1 and with ours.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import websockets

from runtimeuse_client import CommandInterface, ExecuteCommandsOptions, RuntimeUseClient, TextResult
from support.interop import prompt, query_options
from support.runtime import start_runtime

TOKEN = "interop-token-5d1c9e"


@contextlib.contextmanager
def serve(workdir: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[str]:
    runtime = start_runtime("scripted.mjs", workdir, *args, env=env)
    try:
        yield runtime.url
    finally:
        died = runtime.stop()
        assert died is None, f"the runtime exited with {died}:\n{runtime.stderr_tail()}"


@pytest.fixture
def token_runtime_url(tmp_path: Path) -> Iterator[str]:
    """A runtime of its own (tests/handlers/scripted.mjs, ``--token TOKEN``)
    for each test: the runtime locks an address out after five failed
    attempts, so refusals must not add up across tests."""
    with serve(tmp_path / "runtime", "--token", TOKEN) as url:
        yield url


def handshake_status(error: BaseException) -> int | None:
    """The HTTP status of a refused handshake: websockets' asyncio client
    raises InvalidStatus (status on ``.response``), its legacy client
    InvalidStatusCode (``.status_code``)."""
    response = getattr(error, "response", None)
    if response is not None:
        return getattr(response, "status_code", None)
    status = getattr(error, "status_code", None)
    return status if isinstance(status, int) else None


async def test_the_right_token_in_the_url_serves_a_query_commands_and_a_session(token_runtime_url: str) -> None:
    """With ``?token=<token>`` a query, an execute_commands and a session all complete."""
    client = RuntimeUseClient(ws_url=f"{token_runtime_url}/?token={TOKEN}")
    answered = await client.query(prompt("echo", "authorised"), query_options())
    assert isinstance(answered.data, TextResult)
    assert answered.data.text == "authorised"

    ran = await client.execute_commands([CommandInterface(command="echo with-token")], ExecuteCommandsOptions())
    assert [(r.exit_code, r.stdout) for r in ran.results] == [(0, "with-token\n")]

    async with client.session() as session:
        first = await session.query(prompt("echo", "in session"), query_options())
        assert isinstance(first.data, TextResult)
        assert first.data.text == "in session"
        again = await session.execute_commands([CommandInterface(command="echo again")], ExecuteCommandsOptions())
        assert again.results[0].stdout == "again\n"


async def test_a_wrong_token_is_refused_with_401(token_runtime_url: str) -> None:
    """A query with the wrong token fails at the handshake with HTTP 401; nothing runs."""
    client = RuntimeUseClient(ws_url=f"{token_runtime_url}/?token=not-{TOKEN}")
    with pytest.raises(websockets.exceptions.InvalidHandshake) as caught:
        await client.query(prompt("echo", "never"), query_options())
    assert handshake_status(caught.value) == 401, repr(caught.value)

    with pytest.raises(websockets.exceptions.InvalidHandshake) as caught:
        await client.execute_commands([CommandInterface(command="echo never")], ExecuteCommandsOptions())
    assert handshake_status(caught.value) == 401, repr(caught.value)


async def test_no_token_is_refused_with_401(token_runtime_url: str) -> None:
    """Without a token, a query, an execute_commands and opening a session are all refused with HTTP 401."""
    client = RuntimeUseClient(ws_url=token_runtime_url)
    with pytest.raises(websockets.exceptions.InvalidHandshake) as caught:
        await client.query(prompt("echo", "never"), query_options())
    assert handshake_status(caught.value) == 401, repr(caught.value)

    with pytest.raises(websockets.exceptions.InvalidHandshake) as caught:
        await client.execute_commands([CommandInterface(command="echo never")], ExecuteCommandsOptions())
    assert handshake_status(caught.value) == 401, repr(caught.value)

    with pytest.raises(websockets.exceptions.InvalidHandshake) as caught:
        async with client.session() as session:
            await session.query(prompt("echo", "never"), query_options())
    assert handshake_status(caught.value) == 401, repr(caught.value)


async def test_the_token_runtime_still_serves_after_refusals(token_runtime_url: str) -> None:
    """Refused handshakes (fewer than the five that lock an address out) leave
    the runtime serving: the right token still works afterwards."""
    for url in (token_runtime_url, f"{token_runtime_url}/?token=wrong", f"{token_runtime_url}/?token="):
        with pytest.raises(websockets.exceptions.InvalidHandshake):
            await RuntimeUseClient(ws_url=url).query(prompt("echo", "never"), query_options())
    result = await RuntimeUseClient(ws_url=f"{token_runtime_url}/?token={TOKEN}").query(
        prompt("echo", "still serving"), query_options()
    )
    assert isinstance(result.data, TextResult)
    assert result.data.text == "still serving"


async def test_the_token_can_come_from_runtimeuse_token(tmp_path: Path) -> None:
    """A runtime given its token in RUNTIMEUSE_TOKEN (no --token) requires it just the same."""
    with serve(tmp_path / "runtime", env={"RUNTIMEUSE_TOKEN": TOKEN}) as url:
        with pytest.raises(websockets.exceptions.InvalidHandshake) as caught:
            await RuntimeUseClient(ws_url=url).query(prompt("echo", "never"), query_options())
        assert handshake_status(caught.value) == 401, repr(caught.value)
        result = await RuntimeUseClient(ws_url=f"{url}/?token={TOKEN}").query(
            prompt("echo", "from env"), query_options()
        )
        assert isinstance(result.data, TextResult)
        assert result.data.text == "from env"

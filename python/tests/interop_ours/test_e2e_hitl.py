"""A person in the loop through the Python client, end to end against the real
runtime's echo agent (told through agent_env to run a command and to ask a
question). Run only with our client."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtimeuse_client import (
    ApprovalDecision,
    ApprovalRequestMessageInterface,
    QueryOptions,
    QuestionRequestMessageInterface,
    RuntimeUseClient,
    TextResult,
    Usage,
)
from support.interop import WAIT_S
from support.runtime import start_agent_runtime

ZERO = Usage(input_tokens=0, output_tokens=0, cache_read_tokens=0, cache_write_tokens=0, model_calls=0)


@pytest.fixture(scope="module")
def echo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The runtime with its echo agent."""
    runtime = start_agent_runtime("echo", tmp_path_factory.mktemp("echo"))
    try:
        yield runtime.url
    finally:
        runtime.stop()


def process_gone(pid: int) -> bool:
    """True once ``pid`` runs nothing (gone, or a zombie waiting to be reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat[stat.rindex(")") + 2] in "ZX"


def text_of(result: object) -> str:
    data = getattr(result, "data", None)
    assert isinstance(data, TextResult), result
    return data.text


def options(**fields: object) -> QueryOptions:
    return QueryOptions(system_prompt="sys", model="m", **fields)  # type: ignore[arg-type]


async def test_on_approval_request_allows_and_denies_the_held_tool_call(echo_url: str, tmp_path: Path) -> None:
    """allow runs the command; deny does not, and the agent reads the client's message."""
    asked: list[ApprovalRequestMessageInterface] = []

    async def allow(request: ApprovalRequestMessageInterface) -> ApprovalDecision:
        asked.append(request)
        return ApprovalDecision(decision="allow")

    async def deny(request: ApprovalRequestMessageInterface) -> ApprovalDecision:
        return ApprovalDecision(decision="deny", message="not in production")

    client = RuntimeUseClient(echo_url)
    allowed = await client.query(
        "go",
        options(
            agent_env={"ECHO_COMMAND": f"touch {tmp_path / 'allowed'}"},
            approval_policy=["shell"],
            on_approval_request=allow,
        ),
    )
    assert [(r.tool_name, r.tool_kind, r.input) for r in asked] == [
        ("shell", "execute", {"command": f"touch {tmp_path / 'allowed'}"})
    ]
    assert text_of(allowed) == "go\nshell: exit_code 0"
    assert (tmp_path / "allowed").exists()
    assert allowed.usage == ZERO
    assert allowed.interrupted is False

    denied = await client.query(
        "go",
        options(
            agent_env={"ECHO_COMMAND": f"touch {tmp_path / 'denied'}"},
            approval_policy="always",
            on_approval_request=deny,
        ),
    )
    assert text_of(denied) == "go\nshell: denied: The user denied this tool call: not in production"
    assert not (tmp_path / "denied").exists()


async def test_approval_timeout_denies_an_unanswered_tool_call(echo_url: str, tmp_path: Path) -> None:
    """Past approval_timeout the runtime denies; the late answer is refused and the session goes on."""

    async def slow(request: ApprovalRequestMessageInterface) -> ApprovalDecision:
        await asyncio.sleep(0.6)
        return ApprovalDecision(decision="allow")

    async with RuntimeUseClient(echo_url).session() as session:
        result = await session.query(
            "go",
            options(
                agent_env={"ECHO_COMMAND": f"touch {tmp_path / 'late'}"},
                approval_policy="always",
                approval_timeout=0.2,
                on_approval_request=slow,
            ),
        )
        assert text_of(result) == "go\nshell: denied: The tool call was denied: the user gave no answer within 200 ms."
        assert not (tmp_path / "late").exists()
        again = await session.query("again", options())
        assert text_of(again) == "again"


async def test_on_question_answers_reach_the_agent(echo_url: str) -> None:
    """The answer goes back to the agent; without on_question nobody is asked."""
    questions: list[QuestionRequestMessageInterface] = []

    async def answer(question: QuestionRequestMessageInterface) -> str:
        questions.append(question)
        return "Postgres"

    client = RuntimeUseClient(echo_url)
    answered = await client.query("go", options(agent_env={"ECHO_QUESTION": "Which database?"}, on_question=answer))
    assert [q.question for q in questions] == ["Which database?"]
    assert text_of(answered) == "go\nanswer: Postgres"
    unasked = await client.query("go", options(agent_env={"ECHO_QUESTION": "Which database?"}))
    assert text_of(unasked) == "go\nno answer: No one can answer questions in this session."


async def test_interrupt_stops_the_turn_and_the_session_reports_its_usage(echo_url: str, tmp_path: Path) -> None:
    """session.interrupt() kills the turn's command; the query returns interrupted; the end carries the totals."""
    pid_file = tmp_path / "pid"
    async with RuntimeUseClient(echo_url).session() as session:
        call = asyncio.ensure_future(
            session.query("go", options(agent_env={"ECHO_COMMAND": f"echo $$ > {pid_file}; exec sleep 300"}))
        )
        deadline = asyncio.get_running_loop().time() + WAIT_S
        while not (pid_file.exists() and pid_file.read_text().strip()):
            assert asyncio.get_running_loop().time() < deadline, "the command never started"
            await asyncio.sleep(0.02)
        pid = int(pid_file.read_text())
        session.interrupt()
        result = await asyncio.wait_for(call, WAIT_S)
        assert result.interrupted is True
        assert text_of(result).startswith("go\nshell: exit_code ")
        assert text_of(result).endswith("(killed)")
        assert process_gone(pid), "the tool's process is gone"
    assert session.usage == ZERO


async def test_client_interrupt_reaches_its_one_shot_query(echo_url: str) -> None:
    """client.interrupt() while the approval waits: the wait is denied and the query returns interrupted."""
    client = RuntimeUseClient(echo_url)

    async def interrupt_then_allow(request: ApprovalRequestMessageInterface) -> ApprovalDecision:
        client.interrupt()
        return ApprovalDecision(decision="allow")

    result = await client.query(
        "go",
        options(agent_env={"ECHO_COMMAND": "true"}, approval_policy="always", on_approval_request=interrupt_then_allow),
    )
    assert result.interrupted is True
    assert text_of(result) == "go\nshell: denied: The tool call was denied: the user interrupted the turn."


def test_a_policy_without_its_callback_is_refused() -> None:
    """approval_policy that holds calls needs on_approval_request; approval_timeout must be positive."""
    with pytest.raises(ValueError, match="needs on_approval_request"):
        options(approval_policy="always")
    for bad in (0, -1.0, math.nan, 1e300, (2**53) / 1000):
        with pytest.raises(ValueError, match="approval_timeout must be a positive number"):
            options(approval_timeout=bad)


async def test_approval_timeout_inf_is_no_limit(echo_url: str) -> None:
    """approval_timeout=math.inf means no limit, as None does (and as Infinity does in TypeScript)."""

    async def slow(request: ApprovalRequestMessageInterface) -> ApprovalDecision:
        await asyncio.sleep(0.3)
        return ApprovalDecision(decision="allow")

    result = await RuntimeUseClient(echo_url).query(
        "go",
        options(
            agent_env={"ECHO_COMMAND": "true"},
            approval_policy="always",
            approval_timeout=math.inf,
            on_approval_request=slow,
        ),
    )
    assert text_of(result) == "go\nshell: exit_code 0"

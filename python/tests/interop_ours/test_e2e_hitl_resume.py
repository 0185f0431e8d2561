"""A person in the loop across a resumed connection, with our client: the real
runtime's echo agent, and between them a TCP proxy on 127.0.0.1 that cuts the
connection. A question or approval the client has not answered yet reaches it
after the resume, is asked once, and its answer takes effect once. Run only
with our client (0.15.1 never asks for a resumable connection)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runtimeuse_client import (
    ApprovalDecision,
    ApprovalRequestMessageInterface,
    QueryOptions,
    QuestionRequestMessageInterface,
    TextResult,
)
from support.fault_proxy import FaultProxy
from support.resumable import through
from support.runtime import start_agent_runtime


@pytest.fixture(scope="module")
def echo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The runtime with its echo agent, keeping a dropped session for 5 s: a
    stall must be noticed (and resumed) within a few ping intervals, not after
    websockets' 10 s close timeout."""
    runtime = start_agent_runtime(
        "echo", tmp_path_factory.mktemp("echo-resume"), "--resume-grace", "5000", "--ping-interval", "150"
    )
    try:
        yield runtime.url
    finally:
        runtime.stop()


async def test_answers_lost_on_their_way_are_resent_after_each_resume_and_applied_once(
    echo_url: str, tmp_path: Path
) -> None:
    """A reset after the question arrived, a stall after the approval request: each answer lands once."""
    proxy = await FaultProxy(int(echo_url.rsplit(":", 1)[1])).start()
    applied = tmp_path / "applied"
    questions: list[QuestionRequestMessageInterface] = []
    asked: list[ApprovalRequestMessageInterface] = []
    cuts: list[int] = []
    resumes: list[dict[str, Any]] = []

    # Each callback breaks the connection after its request arrived and before its answer is sent.
    async def on_question(question: QuestionRequestMessageInterface) -> str:
        questions.append(question)
        cuts.append(proxy.cut("reset"))
        return "eu-west-1"

    async def on_approval_request(request: ApprovalRequestMessageInterface) -> ApprovalDecision:
        asked.append(request)
        cuts.append(proxy.cut("stall"))
        return ApprovalDecision(decision="allow")

    try:
        client = through(proxy, on_reconnect=resumes.append)
        result = await client.query(
            "go",
            QueryOptions(
                system_prompt="sys",
                model="m",
                agent_env={"ECHO_QUESTION": "Which region?", "ECHO_COMMAND": f"echo once >> {applied}"},
                approval_policy="always",
                on_question=on_question,
                on_approval_request=on_approval_request,
            ),
        )
    finally:
        await proxy.close()
    assert cuts == [1, 1], "each callback cut the one live connection"
    assert len(resumes) == 2, "one resume per cut"
    assert result.metadata is not None
    assert result.metadata.get("reconnects") == 2
    assert [q.question for q in questions] == ["Which region?"], "on_question was called once"
    assert [(r.tool_name, r.input) for r in asked] == [("shell", {"command": f"echo once >> {applied}"})]
    assert isinstance(result.data, TextResult)
    assert result.data.text == "go\nanswer: eu-west-1\nshell: exit_code 0"
    assert applied.read_text() == "once\n", "the tool ran once"

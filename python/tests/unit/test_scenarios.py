"""The shared client scenarios (packages/protocol/fixtures/scenarios): the
client rules of docs/PROTOCOL.md, run against this client's real request
code through the in-memory transport, as the TypeScript client runs them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from runtimeuse_client import (
    AgentRuntimeError,
    ApprovalDecision,
    ApprovalRequestMessageInterface,
    ArtifactUploadRequestMessageInterface,
    ArtifactUploadResult,
    CancelledException,
    CommandExecutionResult,
    CommandInterface,
    ExecuteCommandsOptions,
    QueryOptions,
    QueryResult,
    QuestionRequestMessageInterface,
    RuntimeUseClient,
)
from support.memory import WAIT_S, MemoryTransport, Peer, Script

Memory = Callable[[Script], MemoryTransport]

SCENARIOS = Path(__file__).resolve().parents[3] / "packages" / "protocol" / "fixtures" / "scenarios"
ALL = {path.stem: json.loads(path.read_text()) for path in sorted(SCENARIOS.glob("*.json"))}
IN_SESSION = [name for name, scenario in ALL.items() if scenario["expect"]["session"] is not None]
REQUEST_TYPES = {"query": "invocation_message", "commands": "command_execution_message"}


async def next_or_closed(peer: Peer) -> dict[str, Any] | None:
    """The client's next message, or None once it closed the connection."""
    receive = asyncio.ensure_future(peer.receive())
    closed = asyncio.ensure_future(peer.client_closed.wait())
    done, pending = await asyncio.wait({receive, closed}, timeout=WAIT_S, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    return receive.result() if receive in done else None


def runtime_script(scenario: dict[str, Any], in_session: bool) -> Script:
    """Plays the scenario's runtime; in a session, then answers a follow-up command execution and the end."""

    async def script(peer: Peer) -> None:
        await peer.receive_type(REQUEST_TYPES[scenario["request"]])
        for step in scenario["runtime"]:
            if "send" in step:
                await peer.send(step["send"])
            elif "raw" in step:
                await peer.send_raw(step["raw"])
            elif "receive" in step:
                await peer.receive_type(step["receive"])
            else:
                peer.close()
                return
        while in_session:
            message = await next_or_closed(peer)
            if message is None:
                return
            if message["message_type"] == "command_execution_message":
                await peer.send({"message_type": "command_execution_result_message", "results": []})
            elif message["message_type"] == "end_session_message":
                await peer.send({"message_type": "end_session_confirm_message", "artifacts": []})
                return

    return script


class Callbacks:
    """The request's callbacks: each records its call in wire shape and behaves as the scenario says."""

    def __init__(self, scenario: dict[str, Any], abort: Callable[[], None]) -> None:
        self.behaviour: dict[str, str] = scenario["callbacks"]
        self.abort = abort
        self.calls: list[list[Any]] = []
        self.thrown: dict[str, Exception] = {}

    def called(self, kind: str, message: BaseModel) -> None:
        self.calls.append([kind, message.model_dump(mode="json", exclude_none=True)])
        if self.behaviour[kind] == "throw":
            self.thrown[kind] = RuntimeError(f"the {kind} callback failed")
            raise self.thrown[kind]
        if self.behaviour[kind] == "abort":
            self.abort()

    def options(self) -> dict[str, Any]:
        async def record(message: BaseModel, kind: str) -> None:
            self.called(kind, message)

        async def answer(request: ArtifactUploadRequestMessageInterface) -> ArtifactUploadResult:
            self.called("artifact", request)
            return ArtifactUploadResult(
                presigned_url=f"https://uploads.test/{request.filename}", content_type="application/octet-stream"
            )

        names = {
            "assistant": "on_assistant_message",
            "command_output": "on_command_output",
            "heartbeat": "on_heartbeat",
        }
        options: dict[str, Any] = {
            names[kind]: (lambda message, kind=kind: record(message, kind)) for kind in self.behaviour if kind in names
        }

        async def approve(request: ApprovalRequestMessageInterface) -> ApprovalDecision:
            self.called("approval", request)
            if self.behaviour["approval"] == "deny":
                return ApprovalDecision(decision="deny", message="not now")
            return ApprovalDecision(decision="allow")

        async def reply(question: QuestionRequestMessageInterface) -> str:
            self.called("question", question)
            return "staging"

        if "artifact" in self.behaviour:
            options.update(artifacts_dirs=["/out"], on_artifact_upload_request=answer)
        if "approval" in self.behaviour:
            options.update(approval_policy="always", on_approval_request=approve)
        if "question" in self.behaviour:
            options.update(on_question=reply)
        return options


def wire_result(result: QueryResult | CommandExecutionResult) -> dict[str, Any]:
    if isinstance(result, CommandExecutionResult):
        return {"results": [item.model_dump(mode="json", exclude_none=True) for item in result.results]}
    return {"data": result.data.model_dump(mode="json"), "metadata": result.metadata}


def check_error(error: BaseException, expected: dict[str, Any], thrown: dict[str, Exception]) -> None:
    kind = expected["kind"]
    if kind == "cancelled":
        assert isinstance(error, CancelledException), repr(error)
    elif kind == "callback_error":
        assert error is thrown[expected["callback"]], "the callback's own error, unchanged"
    else:
        assert isinstance(error, AgentRuntimeError), repr(error)
        assert error.code == expected["code"], str(error)
        if kind == "runtime_error":
            assert error.error == expected["message"]
            if "metadata" in expected:
                assert error.metadata == expected["metadata"]
        if kind == "protocol_violation":
            assert (error.metadata or {}).get("field") == expected.get("field")


async def call(target: Any, scenario: dict[str, Any], callbacks: Callbacks) -> dict[str, Any]:
    if scenario["request"] == "query":
        options: QueryOptions | ExecuteCommandsOptions = QueryOptions(
            system_prompt="sys", model="m", **callbacks.options()
        )
        request = target.query("go", options)
    else:
        options = ExecuteCommandsOptions(**callbacks.options())
        request = target.execute_commands([CommandInterface(command="make")], options)
    try:
        return {"result": wire_result(await request)}
    except Exception as error:
        return {"error": error}


def check(scenario: dict[str, Any], outcome: dict[str, Any], callbacks: Callbacks, peer: Peer) -> None:
    expect = scenario["expect"]
    if "result" in expect["outcome"]:
        assert outcome == expect["outcome"]
    else:
        assert "error" in outcome, f"expected the call to fail, it returned {outcome}"
        check_error(outcome["error"], expect["outcome"]["error"], callbacks.thrown)
    assert callbacks.calls == expect["callbacks"], "callbacks, in order, with their arguments"
    # What the client sent after its request, up to a session's next request or its end.
    after = peer.sent_by_client[1:]
    ends = [i for i, m in enumerate(after) if m["message_type"] in ("command_execution_message", "end_session_message")]
    assert (after[: ends[0]] if ends else after) == expect["sent"], "what the client sent after its request"


@pytest.mark.parametrize("name", sorted(ALL))
async def test_scenario_as_a_one_shot_call(memory: Memory, name: str) -> None:
    """The scenario's callbacks, answers and outcome hold for a one-shot call."""
    scenario = ALL[name]
    transport = memory(runtime_script(scenario, in_session=False))
    client = RuntimeUseClient(transport=transport)
    callbacks = Callbacks(scenario, client.abort)
    outcome = await call(client, scenario, callbacks)
    await transport.finish()
    check(scenario, outcome, callbacks, transport.peer)


@pytest.mark.parametrize("name", IN_SESSION)
async def test_scenario_as_a_session_request(memory: Memory, name: str) -> None:
    """The same holds for a session request, and the session is usable or ended afterwards as the scenario says."""
    scenario = ALL[name]
    transport = memory(runtime_script(scenario, in_session=True))
    async with RuntimeUseClient(transport=transport).session() as session:
        callbacks = Callbacks(scenario, session.abort)
        outcome = await call(session, scenario, callbacks)
        if scenario["expect"]["session"] == "usable":
            follow_up = await session.execute_commands([CommandInterface(command="true")], ExecuteCommandsOptions())
            assert follow_up.results == [], "the session is usable"
        else:
            with pytest.raises(AgentRuntimeError, match="the session's connection has ended"):
                await session.execute_commands([CommandInterface(command="true")], ExecuteCommandsOptions())
    await transport.finish()
    check(scenario, outcome, callbacks, transport.peer)


def test_the_scenario_folder_is_there_and_not_empty() -> None:
    """The scenarios are found, so none escapes the check."""
    assert len(ALL) >= 7, f"only {len(ALL)} scenarios under {SCENARIOS}"

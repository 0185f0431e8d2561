"""Resumable connections with our client, end to end: the real runtime, and
between them a TCP proxy on 127.0.0.1 that cuts the connection (a FIN, a
reset, a silent stall). Run only with our client (0.15.1 never asks for a
resumable connection)."""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from runtimeuse_client import (
    AgentRuntimeError,
    ArtifactUploadRequestMessageInterface,
    ArtifactUploadResult,
    AssistantMessageInterface,
    CommandInterface,
    CommandOutputMessageInterface,
    ConnectionLostError,
    ExecuteCommandsOptions,
    TextResult,
)
from support.fault_proxy import FaultProxy
from support.http_files import upload_sink
from support.interop import process_running, query_options, wait_for_file
from support.resumable import through

LINES = 2_600_000  # `seq 1 2600000` prints 20 MB
MESSAGES = 1000
ARTIFACTS = 50
RUNTIME_ARGS = ("--ping-interval", "150", "--artifact-settle", "20")


def artifact_bytes(i: int) -> bytes:
    return f"artifact {i}\n".encode() * (50 + i)


async def test_output_messages_and_artifacts_arrive_exactly_once_across_cuts(
    runtime_for: Callable[..., str], tmp_path: Path
) -> None:
    """20 MB of output, 1000 messages and 50 artifacts arrive once and in order across close, reset and stall cuts."""
    url = runtime_for("resume.mjs", "--resume-grace", "15000", *RUNTIME_ARGS)
    proxy = await FaultProxy(int(url.rsplit(":", 1)[1])).start()
    artifacts_dir = tmp_path / "artifacts"
    artifacts_dir.mkdir()
    gate = tmp_path / "cuts-done"
    kinds = ["close", "reset", "stall", "reset", "stall", "close"]
    cuts: list[str] = []
    resumes: list[dict[str, Any]] = []
    due = 0
    thresholds = {
        "bytes": [int((k * 5 + random.random() * 4) * 1_000_000) for k in (1, 2, 3)],
        "messages": [int(k * 300 + random.random() * 200) for k in (1, 2)],
        "artifacts": [int(5 + random.random() * 30)],
    }

    def cut_now(more: int = 0) -> None:
        nonlocal due
        due += more
        # Each cut lands on a connection resumed after the cut before it.
        if due == 0 or len(resumes) < len(cuts):
            return
        kind = kinds[len(cuts) % len(kinds)]
        if proxy.cut(kind) > 0:
            cuts.append(kind)
            due -= 1
            if len(cuts) >= len(kinds):
                gate.write_text("done")

    def reached(kind: str, count: int) -> int:
        points = thresholds[kind]
        if points and count >= points[0]:
            points.pop(0)
            return 1
        return 0

    text: list[str] = []
    size = 0
    messages: list[str] = []
    offers: list[str] = []

    async def on_output(message: CommandOutputMessageInterface) -> None:
        nonlocal size
        text.append(message.text)
        size += len(message.text)
        cut_now(reached("bytes", size))

    async def on_message(message: AssistantMessageInterface) -> None:
        messages.append("".join(message.text_blocks))
        cut_now(reached("messages", len(messages)))

    async def retry_cuts() -> None:
        while True:
            await asyncio.sleep(0.02)
            cut_now()

    with upload_sink() as (sink_url, uploads):

        async def on_artifact(request: ArtifactUploadRequestMessageInterface) -> ArtifactUploadResult:
            offers.append(request.filename)
            cut_now(reached("artifacts", len(offers)))
            return ArtifactUploadResult(
                presigned_url=f"{sink_url}/{request.filename}", content_type="application/octet-stream"
            )

        retry = asyncio.ensure_future(retry_cuts())
        try:
            client = through(proxy, on_reconnect=resumes.append)
            options = query_options(
                on_assistant_message=on_message,
                on_command_output=on_output,
                on_artifact_upload_request=on_artifact,
                artifacts_dirs=[str(artifacts_dir)],
                idle_timeout=30,
            )
            result = await client.query(f"{LINES} {MESSAGES} {ARTIFACTS} {artifacts_dir} {gate}", options)
        finally:
            retry.cancel()
            await proxy.close()
        assert len(cuts) == len(kinds), cuts
        assert set(cuts) == {"close", "reset", "stall"}
        assert isinstance(result.data, TextResult)
        assert result.data.text == "seq exited 0"
        assert result.metadata is not None
        assert result.metadata.get("reconnects") == len(resumes)
        assert len(resumes) >= len(cuts) - 1
        lines = "".join(text).split("\n")
        assert lines.pop() == ""
        assert len(lines) == LINES, "every line arrived exactly once"
        assert lines == [str(i) for i in range(1, LINES + 1)], "every line in its place"
        assert messages == [f"message {i}" for i in range(1, MESSAGES + 1)]
        assert len(offers) == ARTIFACTS, "each offer answered once"
        for _ in range(200):
            if len(uploads) >= ARTIFACTS:
                break
            await asyncio.sleep(0.05)
        by_name: dict[str, list[bytes]] = {}
        for upload in uploads:
            by_name.setdefault(upload.path.lstrip("/"), []).append(upload.body)
        for i in range(1, ARTIFACTS + 1):
            bodies = by_name.get(f"artifact-{i}.bin", [])
            assert len(bodies) == 1, (
                f"artifact-{i}.bin uploaded {len(bodies)} times ({len(uploads)}: {sorted(by_name)[:3]})"
            )
            assert hashlib.sha256(bodies[0]).digest() == hashlib.sha256(artifact_bytes(i)).digest()


async def test_cut_and_never_back_raises_connection_lost_and_kills_after_the_window(
    runtime_for: Callable[..., str], tmp_path: Path
) -> None:
    """A connection that never comes back gives ConnectionLostError; its process dies after the grace window."""
    url = runtime_for("resume.mjs", "--resume-grace", "1500", *RUNTIME_ARGS)
    proxy = await FaultProxy(int(url.rsplit(":", 1)[1])).start()
    pid_file = tmp_path / "pid"
    try:
        client = through(proxy, max_reconnect_attempts=3, max_reconnect_delay=0.05)
        call = asyncio.ensure_future(
            client.execute_commands(
                [CommandInterface(command=f"echo $$ > {pid_file}; exec sleep 300")], ExecuteCommandsOptions()
            )
        )
        await wait_for_file(pid_file)
        await asyncio.sleep(0.05)
        pid = int(pid_file.read_text().strip())
        proxy.refuse = True
        proxy.cut("reset")
        with pytest.raises(ConnectionLostError) as lost:
            await call
        assert isinstance(lost.value, AgentRuntimeError)
        assert lost.value.code == "connection_lost"
        assert lost.value.attempts == 3
        assert process_running(pid), "inside the window the process still runs"
        for _ in range(200):
            if not process_running(pid):
                break
            await asyncio.sleep(0.05)
        assert not process_running(pid), "the process was killed after the window"
    finally:
        await proxy.close()

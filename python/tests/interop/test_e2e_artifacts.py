"""Artifacts end to end: files written under a watched directory are offered,
the client answers with an upload URL, and the runtime PUTs the bytes there
(a real HTTP server on 127.0.0.1 stands in for the presigned URL).

Runs unchanged with runtimeuse-client 0.15.1 and with ours.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from runtimeuse_client import (
    ArtifactUploadRequestMessageInterface,
    ArtifactUploadResult,
    CommandInterface,
    ExecuteCommandsOptions,
    RuntimeUseClient,
    TextResult,
)
from support.http_files import Upload, upload_sink
from support.interop import WAIT_S, prompt, query_options

#: How long the test's upload callback takes, like a client that presigns over the network.
#: The runtime must hold a request's terminal until the answers to its offers are in.
SLOW_CALLBACK_S = 0.2


def slow_answers(
    base: str, offered: list[str]
) -> Callable[[ArtifactUploadRequestMessageInterface], Awaitable[ArtifactUploadResult]]:
    """An on_artifact_upload_request callback that awaits before answering; URLs keep the full path."""

    async def on_upload(request: ArtifactUploadRequestMessageInterface) -> ArtifactUploadResult:
        offered.append(request.filepath)
        await asyncio.sleep(SLOW_CALLBACK_S)
        return ArtifactUploadResult(presigned_url=f"{base}/put{request.filepath}", content_type="text/plain")

    return on_upload


async def wait_for_uploads(uploads: list[Upload], count: int) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while len(uploads) < count:
        if loop.time() > deadline:
            raise AssertionError(f"{len(uploads)} of {count} uploads arrived within {WAIT_S}s: {uploads}")
        await asyncio.sleep(0.05)


async def test_a_file_written_during_a_query_is_uploaded(runtime_url: str, tmp_path: Path) -> None:
    """A file a post-command writes into artifacts_dirs is offered, answered, and PUT with the content type."""
    watched = tmp_path / "artifacts"
    offered: list[str] = []
    with upload_sink() as (base, uploads):

        async def on_upload(request: ArtifactUploadRequestMessageInterface) -> ArtifactUploadResult:
            offered.append(request.filepath)
            return ArtifactUploadResult(presigned_url=f"{base}/put/{request.filename}", content_type="text/plain")

        async with RuntimeUseClient(ws_url=runtime_url).session() as session:
            result = await session.query(
                prompt("echo", "make an artifact"),
                query_options(
                    artifacts_dirs=[str(watched)],
                    on_artifact_upload_request=on_upload,
                    post_agent_invocation_commands=[
                        CommandInterface(command="printf 'artifact body' > report.txt", cwd=str(watched))
                    ],
                ),
            )
            assert isinstance(result.data, TextResult)
        # Leaving the session waits for the runtime to finish its uploads.
        assert set(offered) == {str(watched / "report.txt")}
        assert uploads, "nothing was uploaded"
        assert {(u.path, u.content_type, u.body) for u in uploads} == {
            ("/put/report.txt", "text/plain", b"artifact body")
        }


async def test_one_shot_commands_with_a_slow_callback_upload_every_file(runtime_url: str, tmp_path: Path) -> None:
    """One-shot execute_commands closes right after its result; every file it wrote was still
    answered before that (the callback takes 200 ms each) and is uploaded once, with its bytes."""
    watched = tmp_path / "one-shot"
    offered: list[str] = []
    with upload_sink() as (base, uploads):
        write = f'mkdir -p {watched} && for i in 1 2 3; do printf "file $i" > {watched}/f$i.txt; done'
        on_upload = slow_answers(base, offered)
        result = await RuntimeUseClient(ws_url=runtime_url).execute_commands(
            [CommandInterface(command=write)],
            ExecuteCommandsOptions(artifacts_dirs=[str(watched)], on_artifact_upload_request=on_upload),
        )
        assert [r.exit_code for r in result.results] == [0]
        await wait_for_uploads(uploads, 3)
        await asyncio.sleep(0.3)  # room for a duplicate to show up, were there one
        assert sorted(offered) == [str(watched / f"f{i}.txt") for i in (1, 2, 3)]
        assert sorted((u.path, u.body) for u in uploads) == [
            (f"/put{watched}/f{i}.txt", f"file {i}".encode()) for i in (1, 2, 3)
        ]


async def test_a_persistent_session_uploads_each_file_once_before_it_closes(runtime_url: str, tmp_path: Path) -> None:
    """Across two requests of one session, with a slow callback: files of both requests, the same
    base name in two folders, and a file rewritten with new content are all uploaded by the time
    the session has ended, each content once."""
    watched = tmp_path / "session"
    offered: list[str] = []
    with upload_sink() as (base, uploads):
        on_upload = slow_answers(base, offered)
        async with RuntimeUseClient(ws_url=runtime_url).session() as session:
            first = "mkdir -p a b && printf one > a/out.txt && printf two > b/out.txt"
            await session.execute_commands(
                [CommandInterface(command=first, cwd=str(watched))],
                ExecuteCommandsOptions(artifacts_dirs=[str(watched)], on_artifact_upload_request=on_upload),
            )
            await session.execute_commands(
                [CommandInterface(command="printf 'one, again' > a/out.txt && printf three > c.txt", cwd=str(watched))],
                ExecuteCommandsOptions(artifacts_dirs=[str(watched)], on_artifact_upload_request=on_upload),
            )

        def bodies(name: str) -> list[bytes]:
            return [u.body for u in uploads if u.path == f"/put{watched}/{name}"]

        # "one" may have been superseded before it was stored; "one, again" must arrive, once.
        assert bodies("a/out.txt") in ([b"one", b"one, again"], [b"one, again"])
        assert bodies("b/out.txt") == [b"two"]
        assert bodies("c.txt") == [b"three"]
        assert offered.count(str(watched / "b" / "out.txt")) == 1

"""Downloads end to end: files the runtime fetches before the agent or the
commands run, from a real HTTP server on 127.0.0.1.

Runs unchanged with runtimeuse-client 0.15.1 and with ours.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from runtimeuse_client import (
    AgentRuntimeError,
    CommandInterface,
    ExecuteCommandsOptions,
    RuntimeEnvironmentDownloadableInterface,
    RuntimeUseClient,
    TextResult,
)
from support.http_files import serve_directory
from support.interop import prompt, query_options


async def test_pre_agent_downloads_land_in_their_working_dir(runtime_url: str, tmp_path: Path) -> None:
    """A downloadable is saved under its URL's (decoded) file name in working_dir before pre-commands run."""
    served = tmp_path / "served"
    served.mkdir()
    (served / "data file.txt").write_text("downloaded payload\n")
    work = tmp_path / "work" / "deeper"
    with serve_directory(served) as base:
        downloadable = RuntimeEnvironmentDownloadableInterface(
            download_url=f"{base}/data%20file.txt", working_dir=str(work)
        )
        result = await RuntimeUseClient(ws_url=runtime_url).query(
            prompt("echo", "after download"),
            query_options(
                pre_agent_downloadables=[downloadable],
                pre_agent_invocation_commands=[CommandInterface(command='cat "data file.txt"', cwd=str(work))],
            ),
        )
    assert isinstance(result.data, TextResult)
    assert (work / "data file.txt").read_text() == "downloaded payload\n"


async def test_execution_downloads_come_before_the_commands(runtime_url: str, tmp_path: Path) -> None:
    """pre_execution_downloadables are fetched before command execution starts."""
    served = tmp_path / "served"
    served.mkdir()
    (served / "script.sh").write_text("echo script ran\n")
    with serve_directory(served) as base:
        result = await RuntimeUseClient(ws_url=runtime_url).execute_commands(
            [CommandInterface(command="sh script.sh", cwd=str(tmp_path / "run"))],
            ExecuteCommandsOptions(
                pre_execution_downloadables=[
                    RuntimeEnvironmentDownloadableInterface(
                        download_url=f"{base}/script.sh", working_dir=str(tmp_path / "run")
                    )
                ],
                timeout=120,
            ),
        )
    assert result.results[0].stdout == "script ran\n"


async def test_a_failed_download_names_the_http_status(runtime_url: str, tmp_path: Path) -> None:
    """A 404 ends the request with "Download failed: 404 <reason>", as runtime 0.15.1 words it; the presigned
    query stays out of the error and its metadata."""
    with serve_directory(tmp_path) as base, pytest.raises(AgentRuntimeError) as caught:
        await RuntimeUseClient(ws_url=runtime_url).query(
            prompt("echo", "never"),
            query_options(
                pre_agent_downloadables=[
                    RuntimeEnvironmentDownloadableInterface(
                        download_url=f"{base}/missing.txt?X-Amz-Signature=sig0123", working_dir=str(tmp_path / "w")
                    )
                ]
            ),
        )
    assert caught.value.error.startswith("Download failed: 404 ")  # then the reason the server gave
    metadata = caught.value.metadata
    assert metadata is not None
    assert metadata["code"] == "download_failed"
    assert metadata["status"] == 404
    assert metadata["url"] == f"{base}/missing.txt"
    assert "sig0123" not in repr(metadata)

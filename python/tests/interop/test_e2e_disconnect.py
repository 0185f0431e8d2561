"""A client that goes away: with a client that does not ask for a resumable
connection (0.15.1), or ours leaving on purpose, the runtime cancels at once.

Runs unchanged with runtimeuse-client 0.15.1 and with ours.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from runtimeuse_client import CommandInterface, ExecuteCommandsOptions, RuntimeUseClient
from support.interop import process_running, wait_for_file

#: Far below the runtime's default resume grace (60 s): "at once".
KILLED_WITHIN_S = 5.0


async def test_a_disconnect_kills_the_commands_processes_at_once(runtime_url: str, tmp_path: Path) -> None:
    """Cancelling a call closes its connection; the runtime kills the command's process right away."""
    pid_file = tmp_path / "pid"
    call = asyncio.ensure_future(
        RuntimeUseClient(ws_url=runtime_url).execute_commands(
            [CommandInterface(command=f"echo $$ > {pid_file}; exec sleep 300")], ExecuteCommandsOptions()
        )
    )
    pid = int((await wait_for_file(pid_file)).strip())
    assert process_running(pid)
    call.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await call
    loop = asyncio.get_running_loop()
    deadline = loop.time() + KILLED_WITHIN_S
    while process_running(pid) and loop.time() < deadline:  # noqa: ASYNC110 - polling /proc, nothing to wait on
        await asyncio.sleep(0.05)
    assert not process_running(pid), f"process {pid} still runs {KILLED_WITHIN_S}s after the disconnect"

"""Start the real runtime CLI as a child process for end-to-end tests.

Uses only the standard library, so the interop suite runs unchanged in the
virtualenv of the published client.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
CLI = REPO / "packages" / "runtimeuse" / "bin" / "runtimeuse.js"
HANDLERS = Path(__file__).resolve().parents[1] / "handlers"

#: Bounds for a loaded machine: the runtime normally listens well within a second.
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0

_LISTENING = re.compile(r"^runtimeuse listening on (ws://\S+:\d+)$")


@dataclass
class RuntimeProcess:
    """One running runtime; ``url`` is where clients connect."""

    process: subprocess.Popen[str]
    url: str
    stderr_path: Path
    stdout_lines: list[str] = field(default_factory=list)

    def stderr_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.stderr_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no stderr)"

    def stop(self) -> int | None:
        """Stop the runtime (SIGTERM, then SIGKILL); return the exit code it
        had *before* being asked to stop, or None if it was still running."""
        crashed = self.process.poll()
        if crashed is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT_S)
        return crashed


def _pump(stream: object, lines: queue.Queue[str | None]) -> None:
    assert hasattr(stream, "readline")
    for line in iter(stream.readline, ""):
        lines.put(line.rstrip("\n"))
    lines.put(None)


def start_runtime(handler: str, workdir: Path, *extra_args: str) -> RuntimeProcess:
    """Run ``runtimeuse --port 0 --handler tests/handlers/<handler>`` in ``workdir``
    and wait for its ``runtimeuse listening on ws://HOST:PORT`` line."""
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not on PATH; the interop tests need the runtime's CLI")
    if not (REPO / "packages" / "runtimeuse" / "dist").is_dir():
        raise RuntimeError(f"{CLI} is not built; run `npm install` at {REPO} first")
    workdir.mkdir(parents=True, exist_ok=True)
    stderr_path = workdir / "runtime.stderr.log"
    args = [node, str(CLI), "--port", "0", "--host", "127.0.0.1", "--handler", str(HANDLERS / handler), *extra_args]
    with stderr_path.open("w") as stderr:
        process = subprocess.Popen(
            args,
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env={**os.environ, "NO_COLOR": "1"},
        )
    assert process.stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_pump, args=(process.stdout, lines), daemon=True).start()
    seen: list[str] = []
    while True:
        try:
            line = lines.get(timeout=START_TIMEOUT_S)
        except queue.Empty:
            process.kill()
            raise RuntimeError(f"runtime did not report listening within {START_TIMEOUT_S}s") from None
        if line is None:
            code = process.wait(STOP_TIMEOUT_S)
            raise RuntimeError(
                f"runtime exited with {code} before listening; stdout={seen!r}\n"
                + stderr_path.read_text(errors="replace")
            )
        seen.append(line)
        match = _LISTENING.match(line)
        if match:
            return RuntimeProcess(process, match.group(1), stderr_path, seen)

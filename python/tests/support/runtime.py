"""Start the real runtime CLI (and, for the built-in agents, a scripted model
API) as child processes for end-to-end tests.

Uses only the standard library, so the interop suite runs unchanged in the
virtualenv of the published client.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import threading
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
CLI = REPO / "packages" / "runtimeuse" / "bin" / "runtimeuse.js"
HANDLERS = Path(__file__).resolve().parents[1] / "handlers"
#: The runtime as one file, built by ``npm run release`` (scripts/test-python.sh builds it first).
ONE_FILE = REPO / "dist" / "release" / "runtimeuse.mjs"
SCRIPTED_SERVE = REPO / "packages" / "runtimeuse" / "test" / "support" / "scripted" / "serve.ts"

#: Bounds for a loaded machine: the runtime normally listens well within a
#: second; the scripted model server compiles TypeScript through tsx first.
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
#: Bound for one look at the scripted model server's request log.
HTTP_TIMEOUT_S = 30.0

_LISTENING = re.compile(r"^runtimeuse listening on (ws://\S+:\d+)$")
_SCRIPTED_LISTENING = re.compile(r"^scripted (?:openai|anthropic) listening (http://\S+)$")

#: Variables a runtime must not inherit from the test's environment, since
#: they would change what the tests pin (RUNTIMEUSE_TOKEN turns on auth).
_NOT_INHERITED = ("RUNTIMEUSE_TOKEN",)


@dataclass
class ChildProcess:
    """One running child; ``ready`` is the match of its ready line."""

    process: subprocess.Popen[str]
    ready: re.Match[str]
    stderr_path: Path
    stdout_lines: list[str] = field(default_factory=list)

    def stderr_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.stderr_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no stderr)"

    def stop(self) -> int | None:
        """Stop the child (SIGTERM, then SIGKILL); return the exit code it
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


class RuntimeProcess(ChildProcess):
    """One running runtime."""

    @property
    def url(self) -> str:
        """Where clients connect: ``ws://HOST:PORT``."""
        return self.ready.group(1)


class ScriptedModel(ChildProcess):
    """One running scripted model API (serve.ts)."""

    @property
    def base_url(self) -> str:
        """For OPENAI_BASE_URL / ANTHROPIC_BASE_URL."""
        return self.ready.group(1)

    @property
    def origin(self) -> str:
        """``http://HOST:PORT``, without the OpenAI ``/v1`` suffix."""
        return re.sub(r"^(http://[^/]+).*$", r"\1", self.base_url)

    def requests(self) -> list[dict[str, Any]]:
        """Every request the server recorded so far (method, path, headers, body)."""
        with urllib.request.urlopen(f"{self.origin}/__scripted/requests", timeout=HTTP_TIMEOUT_S) as response:
            recorded = json.loads(response.read())
        assert isinstance(recorded, list), recorded
        return recorded


def _pump(stream: object, lines: queue.Queue[str | None]) -> None:
    assert hasattr(stream, "readline")
    for line in iter(stream.readline, ""):
        lines.put(line.rstrip("\n"))
    lines.put(None)


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not on PATH; the interop tests need the runtime's CLI")
    if not (REPO / "packages" / "runtimeuse" / "dist").is_dir():
        raise RuntimeError(f"{CLI} is not built; run `npm install` at {REPO} first")
    return node


def _spawn_until_ready(
    args: Sequence[str], cwd: Path, env: Mapping[str, str], ready: re.Pattern[str], stderr_path: Path
) -> tuple[subprocess.Popen[str], re.Match[str], list[str]]:
    """Start ``args`` and wait (at most START_TIMEOUT_S) for a stdout line
    matching ``ready``; its stderr goes to ``stderr_path``."""
    log_name = stderr_path.name
    with stderr_path.open("w") as stderr:
        process = subprocess.Popen(
            list(args),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=dict(env),
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
            process.wait(STOP_TIMEOUT_S)
            raise RuntimeError(f"{log_name} did not report ready within {START_TIMEOUT_S}s") from None
        if line is None:
            code = process.wait(STOP_TIMEOUT_S)
            raise RuntimeError(
                f"{log_name} exited with {code} before it was ready; stdout={seen!r}\n"
                + stderr_path.read_text(errors="replace")
            )
        seen.append(line)
        match = ready.match(line)
        if match:
            return process, match, seen


def _runtime_env(env: Mapping[str, str] | None) -> dict[str, str]:
    inherited = {name: value for name, value in os.environ.items() if name not in _NOT_INHERITED}
    return {**inherited, "NO_COLOR": "1", **(env or {})}


def start_cli(workdir: Path, args: Sequence[str], env: Mapping[str, str] | None = None) -> RuntimeProcess:
    """Run ``runtimeuse --port 0 --host 127.0.0.1 ARGS`` in ``workdir`` with
    the test's environment plus ``env``, and wait for its
    ``runtimeuse listening on ws://HOST:PORT`` line."""
    command = [_node(), str(CLI), "--port", "0", "--host", "127.0.0.1", *args]
    workdir.mkdir(parents=True, exist_ok=True)
    stderr_path = workdir / "runtime.stderr.log"
    # Conversations stay in the test's directory, never in the machine's state directory.
    env = {"XDG_STATE_HOME": str(workdir / "xdg-state"), **(env or {})}
    process, ready, seen = _spawn_until_ready(command, workdir, _runtime_env(env), _LISTENING, stderr_path)
    return RuntimeProcess(process, ready, stderr_path, seen)


def start_one_file(workdir: Path, args: Sequence[str]) -> RuntimeProcess:
    """Copy runtimeuse.mjs alone into ``workdir`` (which must not have a
    node_modules in it or above it) and run ``node runtimeuse.mjs --port 0
    --host 127.0.0.1 ARGS`` there with only PATH and HOME in its environment."""
    if not ONE_FILE.is_file():
        raise RuntimeError(f"{ONE_FILE} is missing: run `npm run release` at {REPO} first")
    workdir.mkdir(parents=True, exist_ok=True)
    for folder in (workdir, *workdir.parents):
        if (folder / "node_modules").exists():
            raise RuntimeError(f"{folder} has a node_modules folder: the one-file runtime must run without one")
    shutil.copyfile(ONE_FILE, workdir / "runtimeuse.mjs")
    command = [_node(), "runtimeuse.mjs", "--port", "0", "--host", "127.0.0.1", *args]
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(workdir), "NO_COLOR": "1"}
    stderr_path = workdir / "runtime.stderr.log"
    process, ready, seen = _spawn_until_ready(command, workdir, env, _LISTENING, stderr_path)
    return RuntimeProcess(process, ready, stderr_path, seen)


def start_runtime(
    handler: str, workdir: Path, *extra_args: str, env: Mapping[str, str] | None = None
) -> RuntimeProcess:
    """The runtime with ``--handler tests/handlers/<handler>``."""
    return start_cli(workdir, ["--handler", str(HANDLERS / handler), *extra_args], env)


def start_agent_runtime(
    agent: str, workdir: Path, *extra_args: str, env: Mapping[str, str] | None = None
) -> RuntimeProcess:
    """The runtime with a built-in agent: ``--agent <agent>``."""
    return start_cli(workdir, ["--agent", agent, *extra_args], env)


def start_scripted_model(api: str, script: Sequence[Mapping[str, Any]], workdir: Path) -> ScriptedModel:
    """Run the scripted ``openai`` (Responses) or ``anthropic`` (Messages)
    API of packages/runtimeuse/test/support/scripted/serve.ts with ``script``
    (its JSON turns) and wait for its ``scripted <api> listening <base URL>`` line."""
    workdir.mkdir(parents=True, exist_ok=True)
    script_path = workdir / f"{api}-script.json"
    script_path.write_text(json.dumps(list(script)))
    command = [_node(), "--import", "tsx", str(SCRIPTED_SERVE), api, str(script_path)]
    env = {**os.environ, "NO_COLOR": "1"}
    # From the repository root, where `--import tsx` resolves.
    stderr_path = workdir / f"scripted-{api}.stderr.log"
    process, ready, seen = _spawn_until_ready(command, REPO, env, _SCRIPTED_LISTENING, stderr_path)
    return ScriptedModel(process, ready, stderr_path, seen)

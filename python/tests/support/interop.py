"""Helpers for the end-to-end suites. They use only the API of
runtimeuse-client 0.15.1, so they work with both clients."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runtimeuse_client import AssistantMessageInterface, CommandOutputMessageInterface, QueryOptions

#: Generous bound for waiting on the runtime's side effects.
WAIT_S = 30.0


def prompt(behaviour: str, text: str = "") -> str:
    """A prompt for tests/handlers/scripted.mjs."""
    return f"{behaviour}|{text}"


def query_options(**kwargs: Any) -> QueryOptions:
    kwargs.setdefault("timeout", 120)
    return QueryOptions(system_prompt="You are a test.", model="test-model", **kwargs)


@dataclass
class Recorder:
    """Collects assistant messages and command output in arrival order."""

    events: list[tuple[str, str, str]] = field(default_factory=list)
    first_assistant: asyncio.Event = field(default_factory=asyncio.Event)

    async def on_assistant(self, message: AssistantMessageInterface) -> None:
        for block in message.text_blocks:
            self.events.append(("assistant", block, ""))
        self.first_assistant.set()

    async def on_output(self, message: CommandOutputMessageInterface) -> None:
        self.events.append((message.stream, message.text, message.command))

    def assistant_texts(self) -> list[str]:
        return [text for kind, text, _ in self.events if kind == "assistant"]

    def output_of(self, command: str, stream: str = "stdout") -> str:
        return "".join(text for kind, text, cmd in self.events if kind == stream and cmd == command)

    def first_index(self, kind: str, command: str = "") -> int:
        for i, (k, _, cmd) in enumerate(self.events):
            if k == kind and (not command or cmd == command):
                return i
        raise AssertionError(f"no {kind} event for {command!r} in {self.events}")


def _text_if_written(path: Path) -> str:
    return path.read_text() if path.exists() else ""


async def wait_for_file(path: Path) -> str:
    """The file's text once it exists (fails after WAIT_S)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while True:
        text = _text_if_written(path)
        if text:
            return text
        if loop.time() > deadline:
            raise AssertionError(f"{path} was not written within {WAIT_S}s")
        await asyncio.sleep(0.05)


def process_running(pid: int) -> bool:
    """True while process ``pid`` exists and is not a zombie (which no longer runs)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status

"""The request methods shared by the client and a session.

Both expose the same four calls; they differ only in how one request is
carried (a connection of its own, or the session's), which each supplies as
``_run``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

from ._requests import (
    CommandEvent,
    PreparedRequest,
    QueryEvent,
    command_event,
    last_of,
    prepare_commands,
    prepare_query,
    query_event,
)
from ._tracker import Progress, WireResult
from .messages import CommandExecutionResult, CommandInterface, QueryResult
from .options import ExecuteCommandsOptions, QueryOptions


class RequestMethods:
    """``query``, ``execute_commands`` and their streaming forms over ``_run``."""

    def _run(self, prepared: PreparedRequest) -> AsyncGenerator[Progress | WireResult, None]:
        raise NotImplementedError

    async def query(self, prompt: str, options: QueryOptions) -> QueryResult:
        """Run the agent once on ``prompt`` and return its result."""
        return await last_of(self.stream(prompt, options), QueryResult)

    async def execute_commands(
        self, commands: list[CommandInterface], options: ExecuteCommandsOptions
    ) -> CommandExecutionResult:
        """Run ``commands`` in order without the agent, stopping after the
        first that exits non-zero (its exit code is in its result item)."""
        return await last_of(self.stream_commands(commands, options), CommandExecutionResult)

    async def stream(self, prompt: str, options: QueryOptions) -> AsyncGenerator[QueryEvent, None]:
        """Like :meth:`query`, as an async iterator: assistant messages,
        command output and heartbeats as they arrive, then the
        :class:`QueryResult`. Callbacks in ``options`` still run. Leaving the
        loop early cancels the request (wrap in :func:`contextlib.aclosing`
        to do that at once)."""
        async for event in self._run(prepare_query(prompt, options)):
            yield query_event(event)

    async def stream_commands(
        self, commands: list[CommandInterface], options: ExecuteCommandsOptions
    ) -> AsyncGenerator[CommandEvent, None]:
        """Like :meth:`execute_commands`, in the form of :meth:`stream`."""
        async for event in self._run(prepare_commands(commands, options)):
            yield command_event(event)

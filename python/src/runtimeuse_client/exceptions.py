"""The exceptions a request can end with besides :class:`TimeoutError`."""

from __future__ import annotations

import json
from typing import Any

from ._codes import CONNECTION_LOST


class CancelledException(Exception):
    """The caller aborted the request (``abort()``), and the runtime has
    acknowledged it with the request's terminal message."""


class AgentRuntimeError(Exception):
    """A request failed: the runtime answered with ``error_message``, or a
    client-side limit (idle or callback timeout) gave up on it.

    ``error`` is the human-readable reason; ``metadata`` carries the
    machine-readable details (``code`` from the runtime, ``timeout_type`` for
    client-side limits).
    """

    def __init__(self, error: str, metadata: dict[str, Any] | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.metadata = metadata

    @property
    def code(self) -> str | None:
        """``metadata["code"]`` when the runtime sent a stable error code."""
        value = (self.metadata or {}).get("code")
        return value if isinstance(value, str) else None

    def __str__(self) -> str:
        if not self.metadata:
            return self.error
        try:
            details = json.dumps(self.metadata, sort_keys=True, default=str)
        except (TypeError, ValueError):
            details = repr(self.metadata)
        return f"{self.error}\nmetadata: {details}"


class ConnectionLostError(AgentRuntimeError):
    """A resumable connection dropped and could not be resumed: the attempts
    ran out, the runtime's grace window passed, or the runtime refused the
    resume. ``metadata["code"]`` is ``connection_lost``; ``attempts`` and
    ``elapsed_s`` say how often and how long it tried; ``__cause__`` is the
    last failure."""

    def __init__(self, error: str, *, attempts: int, elapsed_s: float) -> None:
        super().__init__(error, {"code": CONNECTION_LOST, "attempts": attempts, "elapsed_s": round(elapsed_s, 3)})
        self.attempts = attempts
        self.elapsed_s = elapsed_s

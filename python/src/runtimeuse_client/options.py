"""Per-request options and the callback types they carry.

The dataclass fields keep the order of runtimeuse-client 0.15.1, so options
built positionally mean the same thing here.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from .messages import (
    ApprovalDecision,
    ApprovalPolicy,
    ApprovalRequestMessageInterface,
    ArtifactUploadRequestMessageInterface,
    ArtifactUploadResult,
    AssistantMessageInterface,
    CommandInterface,
    CommandOutputMessageInterface,
    HeartbeatMessageInterface,
    QuestionRequestMessageInterface,
    RuntimeEnvironmentDownloadableInterface,
)

OnAssistantMessageCallback = Callable[[AssistantMessageInterface], Awaitable[None]]
OnCommandOutputCallback = Callable[[CommandOutputMessageInterface], Awaitable[None]]
OnArtifactUploadRequestCallback = Callable[[ArtifactUploadRequestMessageInterface], Awaitable[ArtifactUploadResult]]
OnHeartbeatCallback = Callable[[HeartbeatMessageInterface], Awaitable[None]]
#: extension: decides a held tool call.
OnApprovalRequestCallback = Callable[[ApprovalRequestMessageInterface], Awaitable[ApprovalDecision]]
#: extension: answers the agent's question (free text, or chosen labels joined with ``", "``).
OnQuestionCallback = Callable[[QuestionRequestMessageInterface], Awaitable[str]]

_TIMEOUT_FIELDS = (
    "timeout",
    "idle_timeout",
    "assistant_callback_timeout",
    "artifact_upload_callback_timeout",
)


def _check_common(options: QueryOptions | ExecuteCommandsOptions) -> None:
    # Watching directories without a way to answer upload requests would
    # leave the runtime waiting on every file; a callback without directories
    # would never be called. Either is a mistake worth reporting early.
    if bool(options.artifacts_dirs) != (options.on_artifact_upload_request is not None):
        raise ValueError(
            "artifacts_dirs and on_artifact_upload_request go together: "
            "set both (a non-empty list and a callback) or neither"
        )
    for name in _TIMEOUT_FIELDS:
        value = getattr(options, name)
        if value is not None and (math.isnan(value) or value < 0):
            raise ValueError(f"{name} must be a non-negative number of seconds or None, got {value!r}")


@dataclass
class QueryOptions:
    """How to run one query (an agent invocation).

    Timeouts are in seconds; ``None`` means no limit. ``timeout`` bounds the
    whole request and raises :class:`TimeoutError`; ``idle_timeout`` bounds
    the wait for each runtime message, and the two callback timeouts bound
    each callback call: those three raise :class:`AgentRuntimeError` whose
    ``metadata["timeout_type"]`` names the limit.
    """

    system_prompt: str
    model: str
    #: JSON text: ``{"type": "json_schema", "schema": {...}}`` or a bare JSON
    #: Schema object; when set the result is a :class:`StructuredOutputResult`.
    output_format_json_schema_str: str | None = None
    #: Caller's identifier, carried into the runtime's log lines.
    source_id: str | None = None
    #: Environment the agent sees.
    agent_env: dict[str, str] | None = None
    #: Values the runtime replaces with ``[REDACTED]`` in everything it sends.
    secrets_to_redact: list[str] = field(default_factory=list)
    #: Sandbox directories to watch for artifacts (needs
    #: ``on_artifact_upload_request``). An empty list counts as none.
    artifacts_dirs: list[str] | None = None
    #: gitignore-syntax rules for the watched directories; overrides their
    #: ``.artifactignore`` files.
    artifacts_ignore_content: str | None = None
    pre_agent_invocation_commands: list[CommandInterface] | None = None
    post_agent_invocation_commands: list[CommandInterface] | None = None
    pre_agent_downloadables: list[RuntimeEnvironmentDownloadableInterface] | None = None
    on_assistant_message: OnAssistantMessageCallback | None = None
    on_command_output: OnCommandOutputCallback | None = None
    on_artifact_upload_request: OnArtifactUploadRequestCallback | None = None
    timeout: float | None = None
    idle_timeout: float | None = None
    assistant_callback_timeout: float | None = None
    artifact_upload_callback_timeout: float | None = None
    #: Where this request's log lines go (default: this package's logger).
    logger: logging.Logger | None = None
    #: extension: called with each heartbeat (every 15 s while the runtime works).
    on_heartbeat: OnHeartbeatCallback | None = None
    #: extension: runs naming the same conversation share their history (1 to
    #: 128 characters of ``A-Za-z0-9._-``, starting with a letter or digit).
    conversation_id: str | None = None
    #: extension: which of the runtime's agents runs the query (``runtimeuse --agent
    #: openai,claude,codex``); unset: the runtime's first. A name the runtime
    #: did not start fails with code ``unknown_agent``.
    agent: str | None = None
    #: extension: which tool calls wait for ``on_approval_request``:
    #: ``"never"`` (default: every call runs), ``"always"``, or tool names and
    #: kinds (``"shell"``, ``"execute"``, ``"edit"``, ...).
    approval_policy: ApprovalPolicy | None = None
    #: extension: seconds the runtime waits for one approval or answer before
    #: it denies; ``None``: no limit.
    approval_timeout: float | None = None
    #: extension: decides each held tool call; no time limit of its own.
    on_approval_request: OnApprovalRequestCallback | None = None
    #: extension: answers the agent's questions; setting it lets the agent ask.
    on_question: OnQuestionCallback | None = None

    def __post_init__(self) -> None:
        _check_common(self)
        policy = self.approval_policy
        if policy not in (None, "never", []) and self.on_approval_request is None:
            raise ValueError(f"approval_policy {policy!r} needs on_approval_request to decide the tool calls it holds")
        timeout = self.approval_timeout
        if timeout is not None and timeout != math.inf and not (timeout > 0 and _wire_ms(timeout) <= _MAX_WIRE_MS):
            raise ValueError(
                "approval_timeout must be a positive number of seconds, at most (2**53-1)/1000,"
                f" or None or math.inf for no limit, got {timeout!r}"
            )


#: The largest ``approval_timeout_ms`` the runtime reads (a JSON safe integer).
_MAX_WIRE_MS = 2**53 - 1


def _wire_ms(seconds: float) -> int:
    """``approval_timeout`` as the request's ``approval_timeout_ms``: whole milliseconds, at least 1."""
    return max(1, math.ceil(seconds * 1000))


def approval_timeout_ms(options: QueryOptions) -> int | None:
    """The request's ``approval_timeout_ms``; ``None`` (not sent) for no limit."""
    timeout = options.approval_timeout
    return None if timeout is None or timeout == math.inf else _wire_ms(timeout)


@dataclass
class ExecuteCommandsOptions:
    """How to run one command execution request (no agent).

    Timeouts behave as in :class:`QueryOptions`.
    """

    secrets_to_redact: list[str] = field(default_factory=list)
    source_id: str | None = None
    artifacts_dirs: list[str] | None = None
    artifacts_ignore_content: str | None = None
    pre_execution_downloadables: list[RuntimeEnvironmentDownloadableInterface] | None = None
    on_assistant_message: OnAssistantMessageCallback | None = None
    on_command_output: OnCommandOutputCallback | None = None
    on_artifact_upload_request: OnArtifactUploadRequestCallback | None = None
    timeout: float | None = None
    idle_timeout: float | None = None
    assistant_callback_timeout: float | None = None
    artifact_upload_callback_timeout: float | None = None
    logger: logging.Logger | None = None
    on_heartbeat: OnHeartbeatCallback | None = None

    def __post_init__(self) -> None:
        _check_common(self)

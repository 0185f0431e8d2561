"""The wire messages of the runtimeuse protocol as pydantic models.

Each model mirrors one zod schema in ``packages/protocol/src/schemas.ts``;
``tests/unit/test_fixtures.py`` runs both against the same JSON fixtures.
Unknown fields are ignored and ``null`` means absent, as the protocol says.
Fields marked *extension* are not in runtimeuse-client 0.15.1; they are
optional, so a runtime that never sends them is still understood.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, BeforeValidator, Field, field_validator

from ._wire import (
    EnvMap,
    JsonBool,
    JsonInt,
    NonNegativeJsonInt,
    OsText,
    check_conversation_id,
    check_output_format,
    none_as_empty_list,
)

PositiveJsonInt = Annotated[JsonInt, Field(gt=0)]
#: extension: which tool calls wait for approval: ``"never"``, ``"always"``,
#: or tool names and kinds (``"shell"``, ``"execute"``, ``"edit"``, ...).
ApprovalPolicy = Union[Literal["never", "always"], list[str]]
#: The kinds a tool call is sorted into (those of the Agent Client Protocol).
ToolKind = Literal["read", "edit", "delete", "move", "search", "execute", "think", "fetch", "other"]

SecretList = Annotated[list[str], BeforeValidator(none_as_empty_list)]

# ---------------------------------------------------------------------------
# Nested types


class RuntimeEnvironmentDownloadableInterface(BaseModel):
    """A file the runtime fetches into ``working_dir`` before the work starts."""

    download_url: str
    working_dir: OsText


class CommandInterface(BaseModel):
    """A shell command; ``env`` is merged over the runtime's environment."""

    command: OsText
    cwd: OsText | None = None
    env: EnvMap | None = None


# ---------------------------------------------------------------------------
# Client -> runtime


class InvocationMessage(BaseModel):
    """Asks the runtime to run its agent once (a query)."""

    message_type: Literal["invocation_message"] = "invocation_message"
    source_id: str | None = None
    system_prompt: str
    user_prompt: str
    model: OsText
    agent_env: EnvMap | None = None
    #: extension: which of the runtime's agents runs the query (default: its first).
    agent: str | None = None
    output_format_json_schema_str: str | None = None
    secrets_to_redact: SecretList = Field(default_factory=list)
    artifacts_dirs: list[OsText] | None = None
    #: extension: the deprecated single-directory form; the runtime merges it
    #: into ``artifacts_dirs``.
    artifacts_dir: OsText | None = None
    artifacts_ignore_content: str | None = None
    pre_agent_downloadables: list[RuntimeEnvironmentDownloadableInterface] | None = None
    pre_agent_invocation_commands: list[CommandInterface] | None = None
    post_agent_invocation_commands: list[CommandInterface] | None = None
    #: extension: runs naming the same conversation share their history.
    conversation_id: str | None = None
    #: extension: see :data:`ApprovalPolicy`; ``None`` is ``"never"``.
    approval_policy: ApprovalPolicy | None = None
    #: extension: how long one approval or question waits for its answer (ms).
    approval_timeout_ms: PositiveJsonInt | None = None
    #: extension: the agent may ask questions.
    allow_questions: JsonBool | None = None

    @field_validator("output_format_json_schema_str")
    @classmethod
    def _output_format_is_json_schema(cls, value: str | None) -> str | None:
        return check_output_format(value)

    @field_validator("conversation_id", mode="before")
    @classmethod
    def _conversation_id_is_usable(cls, value: object) -> object:
        return check_conversation_id(value)


class CommandExecutionMessage(BaseModel):
    """Asks the runtime to run commands without calling the agent."""

    message_type: Literal["command_execution_message"] = "command_execution_message"
    source_id: str | None = None
    secrets_to_redact: SecretList = Field(default_factory=list)
    commands: list[CommandInterface]
    artifacts_dirs: list[OsText] | None = None
    #: extension: see :attr:`InvocationMessage.artifacts_dir`.
    artifacts_dir: OsText | None = None
    artifacts_ignore_content: str | None = None
    pre_execution_downloadables: list[RuntimeEnvironmentDownloadableInterface] | None = None


class CancelMessage(BaseModel):
    """Aborts the request in flight; its terminal is then an error."""

    message_type: Literal["cancel_message"] = "cancel_message"


class EndSessionMessage(BaseModel):
    """Asks the runtime to finish pending uploads, confirm, and close."""

    message_type: Literal["end_session_message"] = "end_session_message"


class ArtifactUploadResponseMessageInterface(BaseModel):
    """Answers an artifact upload request with where to ``PUT`` the file."""

    message_type: Literal["artifact_upload_response_message"] = "artifact_upload_response_message"
    filename: str
    filepath: str
    presigned_url: str
    content_type: str


class ApprovalResponseMessage(BaseModel):
    """extension: the answer to an approval request."""

    message_type: Literal["approval_response_message"] = "approval_response_message"
    request_id: str = Field(min_length=1)
    decision: Literal["allow", "deny"]
    message: str | None = None


class QuestionResponseMessage(BaseModel):
    """extension: the answer to a question request."""

    message_type: Literal["question_response_message"] = "question_response_message"
    request_id: str = Field(min_length=1)
    answer: str


class InterruptMessage(BaseModel):
    """extension: stops the agent's current turn; the request ends with a result."""

    message_type: Literal["interrupt_message"] = "interrupt_message"


# ---------------------------------------------------------------------------
# Runtime -> client


class Usage(BaseModel):
    """extension: what a run cost, the same shape for every agent."""

    input_tokens: NonNegativeJsonInt
    output_tokens: NonNegativeJsonInt
    cache_read_tokens: NonNegativeJsonInt
    cache_write_tokens: NonNegativeJsonInt
    model_calls: NonNegativeJsonInt
    #: Only when the agent reports a cost.
    cost_usd: Annotated[float, Field(ge=0)] | None = None


class AgentRuntimeMessageInterface(BaseModel):
    """Any message the runtime sends while a request is in flight."""

    message_type: Literal[
        "result_message",
        "assistant_message",
        "command_output_message",
        "artifact_upload_request_message",
        "error_message",
        "command_execution_result_message",
        "heartbeat_message",
        "approval_request_message",
        "question_request_message",
        "response_error_message",
    ]


class AssistantMessageInterface(AgentRuntimeMessageInterface):
    """Text the agent produced on its way to the result."""

    message_type: Literal["assistant_message"] = "assistant_message"
    text_blocks: list[str]


class CommandOutputMessageInterface(AgentRuntimeMessageInterface):
    """One chunk of a command's output; ``command`` is the command as sent."""

    message_type: Literal["command_output_message"] = "command_output_message"
    stream: Literal["stdout", "stderr"]
    text: str
    command: str


class HeartbeatMessageInterface(AgentRuntimeMessageInterface):
    """Proof of life while a request runs: what it is doing, for how long."""

    message_type: Literal["heartbeat_message"] = "heartbeat_message"
    phase: str
    elapsed_ms: NonNegativeJsonInt


class ArtifactUploadRequestMessageInterface(AgentRuntimeMessageInterface):
    """The runtime offers a file; answer with an upload URL."""

    message_type: Literal["artifact_upload_request_message"] = "artifact_upload_request_message"
    filename: str
    filepath: str


class ApprovalRequestMessageInterface(AgentRuntimeMessageInterface):
    """extension: a tool call waits for the client's approval."""

    message_type: Literal["approval_request_message"] = "approval_request_message"
    request_id: str = Field(min_length=1)
    tool_name: str
    tool_kind: ToolKind
    #: The tool's input, redacted.
    input: dict[str, Any]
    reason: str | None = None


class QuestionOption(BaseModel):
    """extension: one choice the agent offers with a question."""

    label: str
    description: str | None = None


class QuestionRequestMessageInterface(AgentRuntimeMessageInterface):
    """extension: the agent asks the user a question."""

    message_type: Literal["question_request_message"] = "question_request_message"
    request_id: str = Field(min_length=1)
    question: str
    header: str | None = None
    options: list[QuestionOption] | None = None
    multi_select: JsonBool | None = None


class ResponseErrorMessageInterface(AgentRuntimeMessageInterface):
    """extension: the runtime refused an answer that waits for nothing; not terminal."""

    message_type: Literal["response_error_message"] = "response_error_message"
    request_id: str
    error: str
    metadata: dict[str, Any] | None = None


class TextResult(BaseModel):
    """A plain-text answer (the request named no output schema)."""

    type: Literal["text"] = "text"
    text: str


class StructuredOutputResult(BaseModel):
    """A JSON object shaped by the request's output schema."""

    type: Literal["structured_output"] = "structured_output"
    structured_output: dict[str, Any]


ResultData = Annotated[TextResult | StructuredOutputResult, Field(discriminator="type")]


class ResultMessageInterface(AgentRuntimeMessageInterface):
    """Terminal of an invocation that succeeded."""

    message_type: Literal["result_message"] = "result_message"
    metadata: dict[str, Any] | None = None
    data: ResultData


class CommandResultItem(BaseModel):
    """One command that ran: its exit code and captured standard output."""

    command: str
    exit_code: JsonInt
    stdout: str | None = None
    #: extension: the runtime kept only the tail of ``stdout``.
    stdout_truncated: JsonBool | None = None


class CommandExecutionResultMessageInterface(AgentRuntimeMessageInterface):
    """Terminal of a command execution request."""

    message_type: Literal["command_execution_result_message"] = "command_execution_result_message"
    results: list[CommandResultItem]


class ErrorMessageInterface(AgentRuntimeMessageInterface):
    """Terminal of a request that failed; ``metadata.code`` says how."""

    message_type: Literal["error_message"] = "error_message"
    error: str
    metadata: dict[str, Any] | None = None


class ArtifactManifestEntry(BaseModel):
    """extension: the fate of one artifact offered during a session."""

    filepath: str
    size: NonNegativeJsonInt
    status: Literal["uploaded", "failed", "not_requested"]
    error: str | None = None


class EndSessionConfirmMessage(BaseModel):
    """The runtime's answer to :class:`EndSessionMessage`."""

    message_type: Literal["end_session_confirm_message"] = "end_session_confirm_message"
    #: extension: every artifact offered during the session and what became
    #: of it; ``None`` when the runtime sends no manifest.
    artifacts: list[ArtifactManifestEntry] | None = None
    #: extension: the usage summed over the session's requests.
    usage: Usage | None = None


# ---------------------------------------------------------------------------
# What the client returns


class QueryResult(BaseModel):
    """What a query returns: the agent's answer and the runtime's metadata."""

    metadata: dict[str, Any] | None = None
    data: ResultData
    #: extension: what the run cost (``metadata["usage"]``), when reported.
    usage: Usage | None = None
    #: extension: ``interrupt()`` stopped the agent's turn; ``data`` is what
    #: it produced so far.
    interrupted: bool = False

    @classmethod
    def of(cls, metadata: dict[str, Any] | None, data: TextResult | StructuredOutputResult) -> QueryResult:
        """The result of a ``result_message``, its usage and interrupt flag read from ``metadata``."""
        raw = (metadata or {}).get("usage")
        try:
            usage = Usage.model_validate(raw) if raw is not None else None
        except ValueError:
            usage = None
        return cls(
            metadata=metadata,
            data=data,
            usage=usage,
            interrupted=(metadata or {}).get("interrupted") is True,
        )


class CommandExecutionResult(BaseModel):
    """What a command execution returns: one item per command that ran."""

    results: list[CommandResultItem]


class ArtifactUploadResult(BaseModel):
    """What an artifact upload callback returns."""

    presigned_url: str
    content_type: str


class ApprovalDecision(BaseModel):
    """extension: what an approval callback returns; ``message`` is told to the agent on a deny."""

    decision: Literal["allow", "deny"]
    message: str | None = None

"""Python client for runtimeuse: drive an AI agent running in a sandbox over
one WebSocket.

A drop-in replacement for runtimeuse-client 0.15.1: every name it exported is
exported here with the same signature and behaviour. Additions are listed in
``EXTENSIONS``.
"""

from ._requests import CommandEvent, QueryEvent
from .client import RuntimeUseClient
from .exceptions import AgentRuntimeError, CancelledException, ConnectionLostError
from .messages import (
    AgentRuntimeMessageInterface,
    ArtifactManifestEntry,
    ArtifactUploadRequestMessageInterface,
    ArtifactUploadResponseMessageInterface,
    ArtifactUploadResult,
    AssistantMessageInterface,
    CancelMessage,
    CommandExecutionMessage,
    CommandExecutionResult,
    CommandExecutionResultMessageInterface,
    CommandInterface,
    CommandOutputMessageInterface,
    CommandResultItem,
    EndSessionConfirmMessage,
    EndSessionMessage,
    ErrorMessageInterface,
    HeartbeatMessageInterface,
    InvocationMessage,
    QueryResult,
    ResultMessageInterface,
    RuntimeEnvironmentDownloadableInterface,
    StructuredOutputResult,
    TextResult,
)
from .options import (
    ExecuteCommandsOptions,
    OnArtifactUploadRequestCallback,
    OnAssistantMessageCallback,
    OnCommandOutputCallback,
    QueryOptions,
)
from .session import RuntimeUseSession, SessionState
from .transports import (
    ConnectedTransport,
    ConnectedWebSocketTransport,
    PersistentTransport,
    Transport,
    WebSocketTransport,
)

__version__ = "0.16.0"

#: Names this package exports that runtimeuse-client 0.15.1 did not.
EXTENSIONS = ("ArtifactManifestEntry", "CommandEvent", "ConnectionLostError", "QueryEvent", "SessionState")

__all__ = [
    "AgentRuntimeError",
    "AgentRuntimeMessageInterface",
    "ArtifactManifestEntry",
    "ArtifactUploadRequestMessageInterface",
    "ArtifactUploadResponseMessageInterface",
    "ArtifactUploadResult",
    "AssistantMessageInterface",
    "CancelMessage",
    "CancelledException",
    "CommandEvent",
    "CommandExecutionMessage",
    "CommandExecutionResult",
    "CommandExecutionResultMessageInterface",
    "CommandInterface",
    "CommandOutputMessageInterface",
    "CommandResultItem",
    "ConnectedTransport",
    "ConnectedWebSocketTransport",
    "ConnectionLostError",
    "EndSessionConfirmMessage",
    "EndSessionMessage",
    "ErrorMessageInterface",
    "ExecuteCommandsOptions",
    "HeartbeatMessageInterface",
    "InvocationMessage",
    "OnArtifactUploadRequestCallback",
    "OnAssistantMessageCallback",
    "OnCommandOutputCallback",
    "PersistentTransport",
    "QueryEvent",
    "QueryOptions",
    "QueryResult",
    "ResultMessageInterface",
    "RuntimeEnvironmentDownloadableInterface",
    "RuntimeUseClient",
    "RuntimeUseSession",
    "SessionState",
    "StructuredOutputResult",
    "TextResult",
    "Transport",
    "WebSocketTransport",
]

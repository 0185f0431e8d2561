"""The public surface: every name, module path, signature and option field of
runtimeuse-client 0.15.1 is here, plus exactly the listed extensions."""

from __future__ import annotations

import dataclasses
import importlib
import importlib.resources
import inspect

import runtimeuse_client

#: The ``__all__`` of runtimeuse-client 0.15.1.
PUBLISHED_NAMES = {
    "RuntimeUseClient",
    "RuntimeUseSession",
    "ConnectedTransport",
    "ConnectedWebSocketTransport",
    "PersistentTransport",
    "Transport",
    "WebSocketTransport",
    "AgentRuntimeError",
    "CancelledException",
    "AgentRuntimeMessageInterface",
    "RuntimeEnvironmentDownloadableInterface",
    "CommandInterface",
    "InvocationMessage",
    "CommandExecutionMessage",
    "QueryOptions",
    "ExecuteCommandsOptions",
    "QueryResult",
    "CommandResultItem",
    "CommandExecutionResult",
    "ResultMessageInterface",
    "CommandExecutionResultMessageInterface",
    "TextResult",
    "StructuredOutputResult",
    "AssistantMessageInterface",
    "CommandOutputMessageInterface",
    "HeartbeatMessageInterface",
    "ArtifactUploadRequestMessageInterface",
    "ArtifactUploadResponseMessageInterface",
    "ErrorMessageInterface",
    "CancelMessage",
    "EndSessionMessage",
    "EndSessionConfirmMessage",
    "ArtifactUploadResult",
    "OnAssistantMessageCallback",
    "OnCommandOutputCallback",
    "OnArtifactUploadRequestCallback",
}

EXTENSIONS = {
    "ApprovalDecision",
    "ApprovalPolicy",
    "ApprovalRequestMessageInterface",
    "ApprovalResponseMessage",
    "ArtifactManifestEntry",
    "CommandEvent",
    "ConnectionLostError",
    "InterruptMessage",
    "OnApprovalRequestCallback",
    "OnQuestionCallback",
    "QueryEvent",
    "QuestionOption",
    "QuestionRequestMessageInterface",
    "QuestionResponseMessage",
    "ResponseErrorMessageInterface",
    "SessionState",
    "ToolKind",
    "Usage",
}

QUERY_OPTION_FIELDS = [
    "system_prompt",
    "model",
    "output_format_json_schema_str",
    "source_id",
    "agent_env",
    "secrets_to_redact",
    "artifacts_dirs",
    "artifacts_ignore_content",
    "pre_agent_invocation_commands",
    "post_agent_invocation_commands",
    "pre_agent_downloadables",
    "on_assistant_message",
    "on_command_output",
    "on_artifact_upload_request",
    "timeout",
    "idle_timeout",
    "assistant_callback_timeout",
    "artifact_upload_callback_timeout",
    "logger",
]


EXECUTE_OPTION_FIELDS = [
    "secrets_to_redact",
    "source_id",
    "artifacts_dirs",
    "artifacts_ignore_content",
    "pre_execution_downloadables",
    "on_assistant_message",
    "on_command_output",
    "on_artifact_upload_request",
    "timeout",
    "idle_timeout",
    "assistant_callback_timeout",
    "artifact_upload_callback_timeout",
    "logger",
]

#: Option fields this package adds after 0.15.1's (keyword use only).
OPTION_EXTENSIONS = ["on_heartbeat"]
#: Extensions only QueryOptions has, after the shared ones (a conversation, the agent, a person in the loop).
QUERY_OPTION_EXTENSIONS = [
    "conversation_id",
    "agent",
    "approval_policy",
    "approval_timeout",
    "on_approval_request",
    "on_question",
]


def test_all_is_the_published_names_plus_the_listed_extensions() -> None:
    """__all__ is 0.15.1's list plus exactly EXTENSIONS, and each name resolves."""
    assert set(runtimeuse_client.__all__) == PUBLISHED_NAMES | EXTENSIONS
    assert set(runtimeuse_client.EXTENSIONS) == EXTENSIONS
    for name in runtimeuse_client.__all__:
        assert getattr(runtimeuse_client, name) is not None


def test_the_published_module_paths_still_import() -> None:
    """Code importing from 0.15.1's submodules keeps working."""
    paths = {
        "runtimeuse_client.client": ["RuntimeUseClient", "RuntimeUseSession"],
        "runtimeuse_client.types": ["QueryOptions", "ExecuteCommandsOptions", "InvocationMessage", "TextResult"],
        "runtimeuse_client.exceptions": ["AgentRuntimeError", "CancelledException"],
        "runtimeuse_client.transports": ["WebSocketTransport", "ConnectedWebSocketTransport", "Transport"],
        "runtimeuse_client.transports.transport": ["Transport", "ConnectedTransport", "PersistentTransport"],
        "runtimeuse_client.transports.websocket_transport": ["WebSocketTransport", "ConnectedWebSocketTransport"],
    }
    for module_name, names in paths.items():
        module = importlib.import_module(module_name)
        for name in names:
            assert getattr(module, name) is getattr(runtimeuse_client, name), f"{module_name}.{name}"


def test_options_keep_the_published_fields_in_order() -> None:
    """QueryOptions and ExecuteCommandsOptions have 0.15.1's fields in 0.15.1's order, then the extensions."""
    query = [f.name for f in dataclasses.fields(runtimeuse_client.QueryOptions)]
    execute = [f.name for f in dataclasses.fields(runtimeuse_client.ExecuteCommandsOptions)]
    assert query == QUERY_OPTION_FIELDS + OPTION_EXTENSIONS + QUERY_OPTION_EXTENSIONS
    assert execute == EXECUTE_OPTION_FIELDS + OPTION_EXTENSIONS


def test_client_and_session_signatures_match() -> None:
    """Constructor and method parameters start with 0.15.1's, in the same order."""

    def params(func: object) -> list[str]:
        return [p for p in inspect.signature(func).parameters if p != "self"]  # type: ignore[arg-type]

    client = runtimeuse_client.RuntimeUseClient
    session = runtimeuse_client.RuntimeUseSession
    assert params(client.__init__)[:2] == ["ws_url", "transport"]
    assert params(client.query) == ["prompt", "options"]
    assert params(client.execute_commands) == ["commands", "options"]
    assert params(client.abort) == []
    assert params(client.session) == []
    assert params(session.query) == ["prompt", "options"]
    assert params(session.execute_commands) == ["commands", "options"]
    assert params(session.abort) == []
    assert params(runtimeuse_client.WebSocketTransport.__init__)[0] == "ws_url"
    assert params(runtimeuse_client.AgentRuntimeError.__init__) == ["error", "metadata"]


def test_the_package_is_typed() -> None:
    """py.typed ships next to the package."""
    assert importlib.resources.files("runtimeuse_client").joinpath("py.typed").is_file()

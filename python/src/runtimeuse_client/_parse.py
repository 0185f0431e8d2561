"""Dispatch a decoded frame to the model for its ``message_type``.

The client's request loop and the fixture tests both go through here, so
what the loop accepts is exactly what the fixtures pin.
"""

from __future__ import annotations

from typing import Union, cast

from pydantic import BaseModel

from .messages import (
    ArtifactUploadRequestMessageInterface,
    ArtifactUploadResponseMessageInterface,
    AssistantMessageInterface,
    CancelMessage,
    CommandExecutionMessage,
    CommandExecutionResultMessageInterface,
    CommandOutputMessageInterface,
    EndSessionConfirmMessage,
    EndSessionMessage,
    ErrorMessageInterface,
    HeartbeatMessageInterface,
    InvocationMessage,
    ResultMessageInterface,
)

RuntimeMessage = Union[
    AssistantMessageInterface,
    CommandOutputMessageInterface,
    HeartbeatMessageInterface,
    ArtifactUploadRequestMessageInterface,
    ResultMessageInterface,
    CommandExecutionResultMessageInterface,
    ErrorMessageInterface,
    EndSessionConfirmMessage,
]

ClientMessage = Union[
    InvocationMessage,
    CommandExecutionMessage,
    CancelMessage,
    ArtifactUploadResponseMessageInterface,
    EndSessionMessage,
]

RUNTIME_MODELS: dict[str, type[BaseModel]] = {
    "assistant_message": AssistantMessageInterface,
    "command_output_message": CommandOutputMessageInterface,
    "heartbeat_message": HeartbeatMessageInterface,
    "artifact_upload_request_message": ArtifactUploadRequestMessageInterface,
    "result_message": ResultMessageInterface,
    "command_execution_result_message": CommandExecutionResultMessageInterface,
    "error_message": ErrorMessageInterface,
    "end_session_confirm_message": EndSessionConfirmMessage,
}

CLIENT_MODELS: dict[str, type[BaseModel]] = {
    "invocation_message": InvocationMessage,
    "command_execution_message": CommandExecutionMessage,
    "cancel_message": CancelMessage,
    "artifact_upload_response_message": ArtifactUploadResponseMessageInterface,
    "end_session_message": EndSessionMessage,
}

TERMINAL_TYPES = frozenset({"result_message", "command_execution_result_message", "error_message"})


class UnknownMessage(ValueError):
    """The frame is not an object with a ``message_type`` this side knows."""


def message_type_of(raw: object) -> str | None:
    """The frame's ``message_type`` if it is an object carrying a string one."""
    if isinstance(raw, dict):
        value = raw.get("message_type")
        if isinstance(value, str):
            return value
    return None


def _validate(raw: object, models: dict[str, type[BaseModel]], side: str) -> BaseModel:
    if not isinstance(raw, dict):
        raise UnknownMessage(f"expected a JSON object, received {type(raw).__name__}")
    message_type = message_type_of(raw)
    if message_type is None:
        raise UnknownMessage("message_type: required, expected a string")
    model = models.get(message_type)
    if model is None:
        raise UnknownMessage(f"message_type: unknown {side} message type {message_type[:80]!r}")
    return model.model_validate(raw)


def parse_runtime_message(raw: object) -> RuntimeMessage:
    """Validate a message the runtime sent.

    Raises :class:`UnknownMessage` or :class:`pydantic.ValidationError`.
    """
    return cast(RuntimeMessage, _validate(raw, RUNTIME_MODELS, "runtime"))


def parse_client_message(raw: object) -> ClientMessage:
    """Validate a message a client sends (used to check fixtures)."""
    return cast(ClientMessage, _validate(raw, CLIENT_MODELS, "client"))

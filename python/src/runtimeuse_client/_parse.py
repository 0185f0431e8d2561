"""Dispatch a decoded frame to the model for its ``message_type``.

The client's request loop and the fixture tests both go through here, so
what the loop accepts is exactly what the fixtures pin.
"""

from __future__ import annotations

import json
import re
from typing import Any, Union, cast

from pydantic import BaseModel, ValidationError

from ._codes import BINARY_FRAME, INVALID_FIELD, INVALID_JSON, NOT_AN_OBJECT, UNKNOWN_MESSAGE_TYPE
from ._wire import json_kind
from .exceptions import AgentRuntimeError
from .messages import (
    ApprovalRequestMessageInterface,
    ApprovalResponseMessage,
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
    InterruptMessage,
    InvocationMessage,
    QuestionRequestMessageInterface,
    QuestionResponseMessage,
    ResponseErrorMessageInterface,
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
    ApprovalRequestMessageInterface,
    QuestionRequestMessageInterface,
    ResponseErrorMessageInterface,
]

ClientMessage = Union[
    InvocationMessage,
    CommandExecutionMessage,
    CancelMessage,
    ArtifactUploadResponseMessageInterface,
    EndSessionMessage,
    ApprovalResponseMessage,
    QuestionResponseMessage,
    InterruptMessage,
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
    "approval_request_message": ApprovalRequestMessageInterface,
    "question_request_message": QuestionRequestMessageInterface,
    "response_error_message": ResponseErrorMessageInterface,
}

CLIENT_MODELS: dict[str, type[BaseModel]] = {
    "invocation_message": InvocationMessage,
    "command_execution_message": CommandExecutionMessage,
    "cancel_message": CancelMessage,
    "artifact_upload_response_message": ArtifactUploadResponseMessageInterface,
    "end_session_message": EndSessionMessage,
    "approval_response_message": ApprovalResponseMessage,
    "question_response_message": QuestionResponseMessage,
    "interrupt_message": InterruptMessage,
}

#: How much of a malformed frame an error carries (``metadata["frame"]``).
FRAME_EXCERPT = 200


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


def unreadable_frame(text: str, binary: bool = False) -> dict[str, Any]:
    """How a transport hands over a frame that is not a JSON object: as
    runtimeuse-client 0.15.1's transport did, ``{"raw": <the frame's text>}``
    (and ``"binary": True`` for a binary frame). The client reports it as a
    malformed frame."""
    return {"raw": text, "binary": True} if binary else {"raw": text}


def malformed_frame(raw: object, exc: UnknownMessage | ValidationError) -> AgentRuntimeError:
    """The error for a frame that failed validation, with the protocol's code
    (and the field's path, for ``invalid_field``) as the TypeScript client
    reports it."""
    code, field, detail = _problem(raw, exc)
    metadata: dict[str, Any] = {"code": code}
    if field is not None:
        metadata["field"] = field
    metadata["frame"] = _excerpt(raw)
    return AgentRuntimeError(f"the runtime sent a malformed frame: {detail}", metadata)


def _problem(raw: object, exc: UnknownMessage | ValidationError) -> tuple[str, str | None, str]:
    if isinstance(raw, dict) and "raw" in raw and set(raw) <= {"raw", "binary"}:
        text = str(raw["raw"])
        if raw.get("binary"):
            return BINARY_FRAME, None, "a binary frame; expected JSON text"
        try:
            value = json.loads(text)
        except ValueError as error:
            return INVALID_JSON, None, f"frame is not valid JSON: {error}"
        return NOT_AN_OBJECT, None, f"expected a JSON object, received {json_kind(value)}"
    if not isinstance(raw, dict):
        return NOT_AN_OBJECT, None, f"expected a JSON object, received {json_kind(raw)}"
    if isinstance(exc, UnknownMessage):
        return UNKNOWN_MESSAGE_TYPE, "message_type", str(exc)
    first = exc.errors()[0]
    path = field_path(raw, first["loc"], first["type"])
    return INVALID_FIELD, path, f"{raw.get('message_type')}: {path}: {first['msg']}"


_IDENTIFIER = re.compile(r"^[A-Za-z_$][\w$]*$", re.ASCII)


def field_path(raw: dict[str, Any], loc: tuple[int | str, ...], error_type: str) -> str:
    """The field's path as the protocol's parser names it (``results[0].exit_code``,
    ``env["A=B"]``): pydantic's location without the tags of tagged unions
    (``data.text.text`` is ``data.text``), a key that is not an identifier quoted."""
    path = ""
    current: object = raw
    tag_skipped = False
    for part in loc:
        if part == "[key]":
            # pydantic's marker for a dict key that failed: the key itself is the part before it.
            continue
        if isinstance(part, str) and not _IDENTIFIER.match(part):
            path += f"[{json.dumps(part)}]"
            current = current.get(part) if isinstance(current, dict) else None
            tag_skipped = False
            continue
        if isinstance(part, int):
            path += f"[{part}]"
            current = current[part] if isinstance(current, list) and part < len(current) else None
            tag_skipped = False
            continue
        if not tag_skipped and isinstance(current, dict) and current.get("type") == part:
            tag_skipped = True
            continue
        path = f"{path}.{part}" if path else part
        current = current.get(part) if isinstance(current, dict) else None
        tag_skipped = False
    if error_type in ("union_tag_invalid", "union_tag_not_found"):
        path += ".type"
    return path


def _excerpt(raw: object) -> str:
    if isinstance(raw, dict) and set(raw) <= {"raw", "binary"} and "raw" in raw:
        return str(raw["raw"])[:FRAME_EXCERPT]
    try:
        return json.dumps(raw)[:FRAME_EXCERPT]
    except (TypeError, ValueError):
        return repr(raw)[:FRAME_EXCERPT]

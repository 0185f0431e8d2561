"""Runtime messages as the runtime puts them on the wire, for scripted peers."""

from __future__ import annotations

from typing import Any


def text_result(text: str, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"message_type": "result_message", "metadata": metadata or {}, "data": {"type": "text", "text": text}}


def structured_result(value: dict[str, Any]) -> dict[str, Any]:
    return {
        "message_type": "result_message",
        "metadata": {},
        "data": {"type": "structured_output", "structured_output": value},
    }


def commands_result(*items: tuple[str, int, str]) -> dict[str, Any]:
    return {
        "message_type": "command_execution_result_message",
        "results": [{"command": c, "exit_code": code, "stdout": out} for c, code, out in items],
    }


def error(text: str, **metadata: Any) -> dict[str, Any]:
    return {"message_type": "error_message", "error": text, "metadata": metadata}


def assistant(*blocks: str) -> dict[str, Any]:
    return {"message_type": "assistant_message", "text_blocks": list(blocks)}


def output(text: str, command: str = "cmd", stream: str = "stdout") -> dict[str, Any]:
    return {"message_type": "command_output_message", "stream": stream, "text": text, "command": command}


def heartbeat(elapsed_ms: int = 0, phase: str = "agent") -> dict[str, Any]:
    return {"message_type": "heartbeat_message", "phase": phase, "elapsed_ms": elapsed_ms}


def upload_request(filepath: str) -> dict[str, Any]:
    return {
        "message_type": "artifact_upload_request_message",
        "filename": filepath.rsplit("/", 1)[-1],
        "filepath": filepath,
    }


def confirm(artifacts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"message_type": "end_session_confirm_message"}
    if artifacts is not None:
        message["artifacts"] = artifacts
    return message


def session_announcement(session_id: str = "sid", grace_ms: int = 30_000) -> dict[str, Any]:
    """The control frame that opens a resumable connection (``session_message``)."""
    return {
        "message_type": "session_message",
        "session_id": session_id,
        "resume_secret": "secret",
        "resume_grace_ms": grace_ms,
        "replay_buffer_bytes": 1 << 20,
    }


def resumed(session_id: str, last_client_seq: int) -> dict[str, Any]:
    """The control frame that accepts a resume (``resumed_message``)."""
    return {"message_type": "resumed_message", "session_id": session_id, "last_client_seq": last_client_seq}

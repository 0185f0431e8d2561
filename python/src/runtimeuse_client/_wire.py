"""Field types that accept exactly what the protocol's zod schemas accept.

pydantic's lax mode coerces (``"5"`` becomes ``5``, ``1`` becomes ``True``);
the runtime's schemas do not. These annotated types close that gap so that
the shared fixtures under ``packages/protocol/fixtures`` are accepted and
rejected by the Python models exactly as by the TypeScript ones.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, StrictBool

__all__ = [
    "EnvMap",
    "JsonBool",
    "JsonInt",
    "NonNegativeJsonInt",
    "OsText",
    "check_conversation_id",
    "check_output_format",
    "none_as_empty_list",
]


#: Largest integer a JavaScript number holds exactly; zod's ``.int()`` refuses beyond it.
MAX_SAFE_INTEGER = 2**53 - 1


def _json_int(value: Any) -> Any:
    """Accept a JSON integer: an ``int`` (not ``bool``) or a whole ``float``.

    JSON has one number type, so ``5.0`` is the integer five to a JavaScript
    parser; strings and booleans are not numbers at all.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected an integer, received {type(value).__name__}")
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(f"expected an integer, received {value!r}")
    if abs(value) > MAX_SAFE_INTEGER:
        raise ValueError(f"expected an integer within +/-2**53-1, received {value!r}")
    return int(value)


JsonInt = Annotated[int, BeforeValidator(_json_int)]
NonNegativeJsonInt = Annotated[int, BeforeValidator(_json_int), Field(ge=0)]
JsonBool = StrictBool


def _os_text(value: str) -> str:
    """Text handed to the operating system (a command, a path, an environment entry) holds no NUL."""
    if "\0" in value:
        raise ValueError("must not contain a NUL character (U+0000)")
    return value


def _env_name(value: str) -> str:
    """An environment variable's name: non-empty, without ``=`` (the name ends at the first one)."""
    if value == "" or "=" in value:
        raise ValueError("an environment variable name must be non-empty and must not contain '='")
    return value


OsText = Annotated[str, AfterValidator(_os_text)]
EnvMap = dict[Annotated[str, AfterValidator(_os_text), AfterValidator(_env_name)], OsText]


def none_as_empty_list(value: Any) -> Any:
    """``null`` means absent on the wire, and an absent list defaults to ``[]``."""
    return [] if value is None else value


def _reject_constant(name: str) -> Any:
    # NaN and Infinity are Python extensions; a JavaScript JSON parser refuses them.
    raise ValueError(f"{name} is not JSON")


def check_output_format(text: str | None) -> str | None:
    """Check that ``output_format_json_schema_str`` is JSON text holding an
    output format the runtime accepts: ``{"type": "json_schema", "schema":
    {...}}``, or a bare JSON Schema object (what runtime 0.15.1 passed
    through). An object whose ``type`` is ``"json_schema"`` is the wrapper and
    needs an object ``schema``.

    The runtime refuses anything else, so a bad value is reported here, before
    a connection is opened, naming what is wrong. The text is sent unchanged.
    """
    if text is None:
        return None
    try:
        parsed = json.loads(text, parse_constant=_reject_constant)
    except ValueError:
        raise ValueError("expected a JSON text, got text that does not parse as JSON") from None
    if not isinstance(parsed, dict):
        raise ValueError(
            'expected a JSON Schema object, or {"type": "json_schema", "schema": {...}}, '
            f"received {json_kind(parsed)}"
        )
    if parsed.get("type") == "json_schema" and not isinstance(parsed.get("schema"), dict):
        raise ValueError('expected {"type": "json_schema", "schema": {...}} with an object schema')
    return text


def json_kind(value: Any) -> str:
    """The JSON name of a decoded value's type, for error texts."""
    if value is None:
        return "null"
    if isinstance(value, list):
        return "array"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return "string" if isinstance(value, str) else type(value).__name__


#: The runtime names a file after a conversation id, so the rule leaves no
#: room for paths, hidden files or ``..`` (the zod ``ConversationIdSchema``).
CONVERSATION_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def check_conversation_id(value: Any) -> Any:
    """Accept ``None`` or 1 to 128 characters of ``A-Za-z0-9._-`` starting with a letter or digit."""
    if value is None:
        return None
    if not isinstance(value, str) or CONVERSATION_ID_PATTERN.fullmatch(value) is None:
        raise ValueError(
            "expected a string of 1 to 128 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit"
        )
    return value

"""Our client on a resumable connection through a :class:`FaultProxy`, for
the resume tests (run only with our client: 0.15.1 never asks to resume)."""

from __future__ import annotations

from typing import Any

from runtimeuse_client import RuntimeUseClient, WebSocketTransport
from support.fault_proxy import FaultProxy

#: Client pings this often, so a stall is noticed within a fraction of a second.
PING_S = 0.15


def through(proxy: FaultProxy, **options: Any) -> RuntimeUseClient:
    """Our client through ``proxy``; reconnect attempts at most 0.2 s apart unless ``options`` say otherwise."""
    options.setdefault("max_reconnect_delay", 0.2)
    return RuntimeUseClient(transport=WebSocketTransport(proxy.url, ping_interval=PING_S, **options))

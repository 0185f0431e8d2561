"""Transports: how messages travel between the client and the runtime."""

from .transport import ConnectedTransport, EndSessionMessageHandler, PersistentTransport, Transport
from .websocket_transport import ConnectedWebSocketTransport, WebSocketTransport

__all__ = [
    "ConnectedTransport",
    "ConnectedWebSocketTransport",
    "EndSessionMessageHandler",
    "PersistentTransport",
    "Transport",
    "WebSocketTransport",
]

"""A TCP proxy on 127.0.0.1 that breaks the connections it carries the ways
networks do: ``close`` (a FIN both ways), ``reset`` (a RST both ways) or
``stall`` (nothing more is forwarded, nothing is closed: only pings can
tell). With ``refuse`` set, new connections are reset at once."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from dataclasses import dataclass, field


@dataclass
class _Pair:
    writers: tuple[asyncio.StreamWriter, asyncio.StreamWriter]
    pumps: list[asyncio.Task[None]] = field(default_factory=list)
    stalled: bool = False


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class FaultProxy:
    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.refuse = False
        self.connections = 0
        self._pairs: list[_Pair] = []
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> FaultProxy:
        self._server = await asyncio.start_server(self._carry, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def cut(self, kind: str) -> int:
        """Break every connection forwarded now; returns how many."""
        broken = 0
        for pair in list(self._pairs):
            if pair.stalled:
                continue
            broken += 1
            for pump in pair.pumps:
                pump.cancel()
            if kind == "stall":
                pair.stalled = True
                continue
            self._pairs.remove(pair)
            for writer in pair.writers:
                if kind == "reset":
                    _reset(writer)
                else:
                    with contextlib.suppress(OSError):
                        writer.write_eof()
                    writer.close()
        return broken

    async def close(self) -> None:
        for pair in self._pairs:
            for pump in pair.pumps:
                pump.cancel()
            for writer in pair.writers:
                writer.transport.abort()
        self._pairs.clear()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)

    async def _carry(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self.refuse:
            _reset(writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            _reset(writer)
            return
        pair = _Pair((writer, up_writer))
        self._pairs.append(pair)
        pair.pumps = [
            asyncio.ensure_future(self._pump(reader, up_writer, pair)),
            asyncio.ensure_future(self._pump(up_reader, writer, pair)),
        ]

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, pair: _Pair) -> None:
        try:
            while chunk := await reader.read(65536):
                writer.write(chunk)
                await writer.drain()
        except (OSError, ConnectionError):
            pass
        # One side ended: unless stalled, so does the other.
        if pair.stalled or pair not in self._pairs:
            return
        self._pairs.remove(pair)
        for other in pair.writers:
            other.close()

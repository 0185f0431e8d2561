"""HTTP servers on 127.0.0.1:0 (standard library only) for end-to-end tests:
a static file server for downloads, and an upload sink that records PUTs
(standing in for presigned artifact URLs)."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

#: Upload bodies larger than this are refused (the tests upload small files).
MAX_UPLOAD_BYTES = 16 * 1024 * 1024


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve_directory(root: Path) -> Iterator[str]:
    """Serve ``root`` over HTTP; yields the base URL (no trailing slash)."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@dataclass
class Upload:
    path: str
    content_type: str
    body: bytes


@contextmanager
def upload_sink() -> Iterator[tuple[str, list[Upload]]]:
    """Accept ``PUT`` requests; yields the base URL and the list they are recorded in."""
    uploads: list[Upload] = []
    lock = threading.Lock()

    class Handler(_QuietHandler):
        def do_PUT(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_UPLOAD_BYTES:
                self.send_error(413)
                return
            body = self.rfile.read(length)
            with lock:
                uploads.append(Upload(self.path, self.headers.get("Content-Type", ""), body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", uploads
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)

"""A real HTTP server on 127.0.0.1 that answers allocation API requests from a test's routing function."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse


@dataclass
class Reply:
    body: bytes | Callable[[], Iterator[bytes]] = b""
    status: int = 200
    delay: float = 0.0  # seconds before the headers
    stall: float = 0.0  # seconds after the first half of the body
    declared_length: int | None = None  # Content-Length larger than the body: the connection is cut short


@dataclass
class Request:
    path: str
    query: dict[str, str]


@dataclass
class ReplayServer:
    route: Callable[[Request], Reply] = lambda request: Reply(status=404)
    requests: list[Request] = field(default_factory=list)

    def start(self) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                parsed = urlparse(self.path)
                request = Request(parsed.path, {k: v[-1] for k, v in parse_qs(parsed.query).items()})
                outer.requests.append(request)
                reply = outer.route(request)
                time.sleep(reply.delay)
                if callable(reply.body):
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for chunk in reply.body():
                        self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    self.wfile.write(b"0\r\n\r\n")
                    return
                body = reply.body
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(reply.declared_length or len(body)))
                if reply.declared_length:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                half = len(body) // 2
                view = memoryview(body)  # no copy of a large body's halves
                self.wfile.write(view[:half])
                self.wfile.flush()
                time.sleep(reply.stall)
                self.wfile.write(view[half:])
                self.wfile.flush()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@contextlib.contextmanager
def aks_agent(external: Path) -> Iterator[str]:
    """The real AKS cost-analysis agent answer (`/resources/v1`) served on 127.0.0.1; yields the base URL."""
    body = (external / "aks" / "cost-analysis.json").read_bytes()
    replay = ReplayServer(
        lambda request: Reply(body) if request.path.startswith("/resources/v1") else Reply(status=404)
    )
    replay.start()
    try:
        yield replay.url
    finally:
        replay.stop()

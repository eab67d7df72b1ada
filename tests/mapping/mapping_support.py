"""Helpers of the mapping tests: the case files, a local file server and a fake fetcher."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

CASES = Path(__file__).parent / "cases"


def load_case(name: str) -> Any:
    """A case file from ``tests/mapping/cases`` (copied from the project's failure cases)."""
    return json.loads((CASES / name).read_text(encoding="utf-8"))


@dataclass
class Route:
    """What the file server answers on one path."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/octet-stream"
    delay: float = 0.0
    send_length: bool = True


@dataclass
class FileServer:
    """A file server on 127.0.0.1 whose routes tests can add; ``requests`` lists the paths asked."""

    base_url: str
    routes: dict[str, Route]
    requests: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def fill(self, profile: dict[str, Any]) -> dict[str, Any]:
        """The case profile with its ``{files}`` placeholder pointing at this server."""
        return json.loads(json.dumps(profile).replace("{files}", self.base_url))


def _handler(server: FileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0].lstrip("/")
            server.requests.append(path)
            route = server.routes.get(path, Route(status=404, body=b"not found"))
            if route.delay:
                time.sleep(route.delay)
            self.send_response(route.status)
            self.send_header("Content-Type", route.content_type)
            if route.send_length:
                self.send_header("Content-Length", str(len(route.body)))
            self.end_headers()
            # A client that gave up (size limit, timeout) closes early: that is the test's point.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(route.body)

        def log_message(self, format: str, *args: Any) -> None:
            """Silent: the test output is not the place for access logs."""

    return Handler


@dataclass
class FakeFetcher:
    """A fetcher that answers from a dict and records the URLs it was asked for."""

    files: dict[str, bytes | Exception]
    calls: list[str] = field(default_factory=list)

    def __call__(self, url: str) -> bytes:
        self.calls.append(url)
        answer = self.files.get(url)
        if answer is None:
            raise KeyError(url)
        if isinstance(answer, Exception):
            raise answer
        return answer


def start_file_server() -> tuple[FileServer, Callable[[], None]]:
    """Serve the ``files`` of ``attachments.json`` on 127.0.0.1; returns the server and its stop."""
    routes = {
        name: Route(
            status=spec["status"], body=spec["body"].encode("utf-8"), content_type=spec["content_type"]
        )
        for name, spec in load_case("attachments.json")["files"].items()
    }
    state = FileServer(base_url="", routes=routes)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    state.base_url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()

    def stop() -> None:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)

    return state, stop

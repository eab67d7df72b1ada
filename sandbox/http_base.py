"""The HTTP plumbing both emulators share: a threaded HTTP/1.1 server and one request's exchange.

The emulators only decide what to answer; this module knows how to answer on the wire, including
the rude endings fault injection needs (a TCP reset, a silent close, a hang) and a clean stop that
does not wait for hung or idle keep-alive connections.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import os
import socket
import struct
import threading
from collections import deque
from collections.abc import Mapping
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from sandbox.config import HOST, REQUEST_LOG_SIZE
from sandbox.faults import (
    ALL_FIELDS,
    COMMON_ACTIONS,
    DROP,
    HANG,
    HTML_ERROR_PAGE,
    HUB_ONLY_FIELDS,
    REPLY,
    RESET,
    Fault,
    FaultPlan,
    reason_phrase,
)

log = logging.getLogger(__name__)

# A body larger than the emulator's limit is still read and thrown away up to this size, so the
# client gets its 413 instead of a broken pipe; beyond it the connection is closed after the reply.
DRAIN_CAP_BYTES = 256 * 1024 * 1024
# Idle keep-alive connections (and stalled uploads) are closed after this many seconds.
CONNECTION_TIMEOUT_S = 300
# How often the serving loop looks for a stop request; a stop takes about this long.
SHUTDOWN_POLL_S = 0.02


class BodyTooLarge(Exception):
    """The request declared a body larger than the emulator accepts."""

    def __init__(self, size: int) -> None:
        super().__init__(f"request body of {size} bytes is too large")
        self.size = size


class BadFraming(Exception):
    """The request body cannot be read: no usable Content-Length, or the client stopped sending."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def json_bytes(value: Any) -> bytes:
    """JSON as UTF-8 bytes, non-ASCII characters kept as they are rather than ``\\u`` escaped."""
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


class Exchange:
    """One HTTP request and the means to answer it (or to refuse to, on purpose)."""

    def __init__(self, handler: SandboxHandler) -> None:
        self._handler = handler
        self.method: str = handler.command
        parts = urlsplit(handler.path)
        self.path: str = unquote(parts.path)
        self.raw_query: str = parts.query
        self.query: dict[str, list[str]] = parse_qs(parts.query, keep_blank_values=True)
        self.headers = handler.headers
        self.replied = False
        self.status: int | None = None

    @property
    def stopping(self) -> threading.Event:
        """Set when the server stops; waits use it so a stop never waits for a hang to end."""
        return self._handler.server.stopping

    def param(self, name: str) -> str | None:
        """The first value of a query parameter, or ``None`` when it is absent."""
        values = self.query.get(name)
        return values[0] if values else None

    def read_body(self, limit: int) -> bytes:
        """Read the whole body (``Content-Length`` framing only); raise when it cannot be read."""
        if self.headers.get("Transfer-Encoding", "identity").lower() != "identity":
            self._handler.close_connection = True
            raise BadFraming(411, "a Content-Length is required")
        declared = self.headers.get("Content-Length")
        if declared is None:
            return b""
        if not (declared.isascii() and declared.isdigit()):
            self._handler.close_connection = True
            raise BadFraming(400, "invalid Content-Length")
        size = int(declared)
        if size > limit:
            self._discard(size)
            raise BodyTooLarge(size)
        body = self._handler.rfile.read(size)
        if len(body) != size:
            self._handler.close_connection = True
            raise BadFraming(400, "the request body ended early")
        return body

    def _discard(self, size: int) -> None:
        """Read and drop a refused body so the connection stays usable and the client reads the reply."""
        if size > DRAIN_CAP_BYTES:
            self._handler.close_connection = True
            return
        remaining = size
        while remaining > 0:
            chunk = self._handler.rfile.read(min(remaining, 1024 * 1024))
            if not chunk:
                self._handler.close_connection = True
                return
            remaining -= len(chunk)

    def reply(
        self,
        status: int,
        body: bytes,
        content_type: str | None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Send a complete reply; ``Content-Length`` is always set so keep-alive works."""
        handler = self._handler
        self.replied = True
        self.status = status
        try:
            handler.send_response(status)
            if content_type is not None:
                handler.send_header("Content-Type", content_type)
            for name, value in (headers or {}).items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(body)))
            if handler.close_connection:
                handler.send_header("Connection", "close")
            handler.end_headers()
            if self.method != "HEAD":
                handler.wfile.write(body)
            handler.wfile.flush()
        except OSError:
            # The client went away; nothing left to tell it.
            handler.close_connection = True

    def reply_json(
        self, status: int, value: Any, content_type: str, headers: Mapping[str, str] | None = None
    ) -> None:
        """Send ``value`` as JSON with exactly the given ``Content-Type``."""
        self.reply(status, json_bytes(value), content_type, headers)

    def reset(self) -> None:
        """Abort the connection with a TCP RST: SO_LINGER 0, then close the descriptor at once."""
        handler = self._handler
        self.replied = True
        handler.close_connection = True
        sock = handler.connection
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            # detach() so the later shutdown(SHUT_WR) of socketserver cannot send a FIN first.
            os.close(sock.detach())
        except OSError:
            pass

    def drop(self) -> None:
        """Close the connection without sending a byte: the client sees the server disconnect."""
        self.replied = True
        self._handler.close_connection = True

    def hang(self, seconds: float) -> None:
        """Say nothing for ``seconds`` (or until the server stops), then close the connection."""
        self.stopping.wait(seconds)
        self.drop()

    def pause(self, seconds: float) -> None:
        """Delay the handling of this request (latency faults); a stop cuts the wait short."""
        if seconds > 0:
            self.stopping.wait(seconds)


class SandboxHandler(BaseHTTPRequestHandler):
    """Hands every request to the emulator that owns the server."""

    protocol_version = "HTTP/1.1"
    server_version = "SandboxHTTP/1.0"
    timeout = CONNECTION_TIMEOUT_S
    server: SandboxHTTPServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle's algorithm and the
        # client's delayed ACK add about 40 ms to every reply.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def _dispatch(self) -> None:
        exchange = Exchange(self)
        try:
            self.server.app.dispatch(exchange)
        except Exception:
            log.exception("sandbox: unhandled error for %s %s", self.command, self.path)
            if not exchange.replied:
                self.close_connection = True
                exchange.reply(500, b"sandbox internal error\n", "text/plain")

    do_GET = _dispatch
    do_HEAD = _dispatch
    do_POST = _dispatch
    do_PUT = _dispatch
    do_PATCH = _dispatch
    do_DELETE = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - %s", self.address_string(), format % args)


class SandboxHTTPServer(ThreadingHTTPServer):
    """A threaded server that knows its open connections, so a stop can cut them all."""

    daemon_threads = True
    # socketserver's default backlog of 5 makes a burst of parallel connects wait for a SYN retry.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: Service) -> None:
        self.app = app
        self.stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, SandboxHandler)

    def track(self, connection: socket.socket) -> None:
        """Remember an open connection."""
        with self._connections_lock:
            self._connections.add(connection)

    def untrack(self, connection: socket.socket) -> None:
        """Forget a closed connection."""
        with self._connections_lock:
            self._connections.discard(connection)

    def close_connections(self) -> None:
        """Shut every open connection so idle keep-alive and hung handlers end now."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


ADMIN_PREFIX = "/_sandbox/"
ADMIN_JSON = "application/json"


class RequestLog:
    """A bounded, thread-safe log of the requests an emulator received, oldest first."""

    def __init__(self, size: int = REQUEST_LOG_SIZE) -> None:
        self._lock = threading.Lock()
        self._entries: deque[dict[str, Any]] = deque(maxlen=size)
        self._seq = 0

    def add(self, **fields: Any) -> dict[str, Any]:
        """Log a request as it arrives (so arrival order is kept); fill in the outcome with update()."""
        with self._lock:
            self._seq += 1
            entry = {"seq": self._seq, "at": utc_now().isoformat(), **fields}
            self._entries.append(entry)
            return entry

    def update(self, entry: dict[str, Any], **fields: Any) -> None:
        """Record what happened to a logged request."""
        with self._lock:
            entry.update(fields)

    def entries(self) -> list[dict[str, Any]]:
        """Copies of every kept entry."""
        with self._lock:
            return copy.deepcopy(list(self._entries))

    def clear(self) -> None:
        """Forget every entry (the sequence number keeps counting)."""
        with self._lock:
            self._entries.clear()


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(timezone.utc)


def render_fault_body(fault: Fault, json_type: str, default: Any) -> tuple[bytes, str]:
    """The bytes and ``Content-Type`` of a faulty reply.

    No body: ``default`` as JSON, or an HTML error page when the content type asks for HTML. A
    string body is sent as it is; any other value is JSON-encoded. The content type defaults to
    the emulator's JSON type.
    """
    content_type = fault.content_type or json_type
    if fault.body is None:
        if "html" in content_type:
            page = HTML_ERROR_PAGE.format(status=fault.status, reason=reason_phrase(fault.status or 500))
            return page.encode("utf-8"), content_type
        return json_bytes(default), content_type
    if isinstance(fault.body, str):
        return fault.body.encode("utf-8"), content_type
    return json_bytes(fault.body), content_type


class Service:
    """Base of an emulator: one server on 127.0.0.1, its thread, its faults and its request log."""

    name = "service"
    json_type = "application/json"
    fault_actions: frozenset[str] = COMMON_ACTIONS
    fault_fields: frozenset[str] = ALL_FIELDS - HUB_ONLY_FIELDS

    def __init__(self, *, host: str = HOST) -> None:
        self._host = host
        self._server: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.fault_plan = FaultPlan(actions=self.fault_actions, allowed_fields=self.fault_fields)
        self.request_log = RequestLog()

    # -- what each emulator provides -------------------------------------------------------------

    def dispatch(self, exchange: Exchange) -> None:
        """Answer one request."""
        raise NotImplementedError

    def default_error_body(self, status: int) -> Any:
        """The JSON body of an injected reply that did not say its own body."""
        raise NotImplementedError

    def reset(self) -> None:
        """Back to the state right after construction."""
        raise NotImplementedError

    # -- faults and request log --------------------------------------------------------------------

    def set_faults(self, **settings: Any) -> None:
        """Replace all faults: random rates (see :class:`~sandbox.faults.FaultSettings`) and ``script``."""
        self.fault_plan.configure(settings)

    def enqueue(self, *replies: Mapping[str, Any]) -> int:
        """Queue scripted replies for the next requests; returns the queue length."""
        return self.fault_plan.enqueue(replies)

    def clear_faults(self) -> None:
        """No faults any more."""
        self.fault_plan.clear()

    def faults(self) -> dict[str, Any]:
        """The settings in force and the number of scripted replies left."""
        return self.fault_plan.snapshot()

    def requests(self) -> list[dict[str, Any]]:
        """Every logged request, oldest first."""
        return self.request_log.entries()

    def clear_requests(self) -> None:
        """Empty the request log."""
        self.request_log.clear()

    def perform_fault(self, exchange: Exchange, fault: Fault) -> bool:
        """Carry out an injected fault; ``False`` when the request must still be handled normally."""
        exchange.pause(fault.delay_ms / 1000.0)
        if fault.action == RESET:
            exchange.reset()
        elif fault.action == DROP:
            exchange.drop()
        elif fault.action == HANG:
            exchange.hang(fault.hang_s or 0.0)
        elif fault.action == REPLY:
            status = fault.status or 500
            body, content_type = render_fault_body(fault, self.json_type, self.default_error_body(status))
            exchange.reply(status, body, content_type, fault.headers)
        else:
            return False
        return True

    # -- admin endpoints shared by both emulators ----------------------------------------------------

    def admin_reply(
        self, exchange: Exchange, status: int, data: Any = None, error: str | None = None
    ) -> None:
        """Admin replies: ``{"ok": true, "data": ...}`` or ``{"ok": false, "error": "..."}``."""
        value = {"ok": True, "data": data} if error is None else {"ok": False, "error": error}
        exchange.reply_json(status, value, ADMIN_JSON)

    @staticmethod
    def admin_body(exchange: Exchange) -> Any:
        """The JSON body of an admin request (``None`` when empty); ``ValueError`` when not JSON."""
        raw = exchange.read_body(DRAIN_CAP_BYTES)
        if not raw.strip():
            return None
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"admin body is not JSON: {exc}") from None

    def handle_common_admin(self, exchange: Exchange, route: str, body: Any) -> bool:
        """Faults, request log, reset and health; ``False`` when the route is not one of them."""
        method = exchange.method
        if route == "faults" and method == "GET":
            self.admin_reply(exchange, 200, self.faults())
        elif route == "faults" and method in ("POST", "PUT"):
            if body is not None and not isinstance(body, dict):
                raise ValueError("fault settings must be a JSON object")
            self.fault_plan.configure(body or {})
            self.admin_reply(exchange, 200, self.faults())
        elif route == "faults" and method == "DELETE":
            self.clear_faults()
            self.admin_reply(exchange, 200, self.faults())
        elif route == "faults/script" and method == "POST":
            items = body.get("script") if isinstance(body, dict) else body
            self.fault_plan.enqueue(items if isinstance(items, list) else [items])
            self.admin_reply(exchange, 200, self.faults())
        elif route == "requests" and method == "GET":
            self.admin_reply(exchange, 200, self.requests())
        elif route == "requests" and method == "DELETE":
            self.clear_requests()
            self.admin_reply(exchange, 200, None)
        elif route == "reset" and method == "POST":
            self.reset()
            self.admin_reply(exchange, 200, None)
        elif route == "health" and method == "GET":
            self.admin_reply(exchange, 200, {"service": self.name})
        else:
            return False
        return True

    def dispatch_admin(self, exchange: Exchange) -> None:
        """Route a ``/_sandbox/...`` request; admin requests bypass faults, auth and the request log."""
        route = exchange.path[len(ADMIN_PREFIX) :].strip("/")
        try:
            body = self.admin_body(exchange)
            if not (
                self.handle_common_admin(exchange, route, body) or self.handle_admin(exchange, route, body)
            ):
                self.admin_reply(exchange, 404, error=f"no admin route {exchange.method} /_sandbox/{route}")
        except BadFraming as exc:
            self.admin_reply(exchange, exc.status, error=exc.message)
        except (ValueError, TypeError, KeyError) as exc:
            self.admin_reply(exchange, 400, error=str(exc))

    def handle_admin(self, exchange: Exchange, route: str, body: Any) -> bool:
        """Emulator-specific admin routes; ``False`` when the route is unknown."""
        return False

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self, port: int = 0) -> None:
        """Bind (port 0 picks a free port) and serve in a background thread."""
        if self._server is not None:
            raise RuntimeError(f"{self.name} is already running")
        server = SandboxHTTPServer((self._host, port), self)
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": SHUTDOWN_POLL_S},
            name=f"sandbox-{self.name}",
            daemon=True,
        )
        self._server, self._thread = server, thread
        thread.start()

    def stop(self) -> None:
        """Stop serving, wake hung handlers, cut open connections and release the port."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._server = self._thread = None
        server.stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    @property
    def running(self) -> bool:
        """Whether the server is up."""
        return self._server is not None

    @property
    def port(self) -> int:
        """The bound port (only while running)."""
        if self._server is None:
            raise RuntimeError(f"{self.name} is not running")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` with no path."""
        return f"http://{self._host}:{self.port}"

    def __enter__(self) -> Service:
        if not self.running:
            self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

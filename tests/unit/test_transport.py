"""The provider's HTTP transport: direct pools, redirects across origins, proxies from the environment."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import urllib3

from airflow_provider_broadbean.transport import PooledSession, Transport


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    routes: dict[str, tuple[int, dict[str, str], bytes]] = {}

    def do_GET(self) -> None:
        status, headers, body = self.routes.get(self.path, (404, {}, b"missing"))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def _serve(routes: dict[str, tuple[int, dict[str, str], bytes]]) -> http.server.ThreadingHTTPServer:
    handler = type("Handler", (_Handler,), {"routes": routes})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def origins() -> Iterator[tuple[str, str]]:
    """Two origins: the first redirects ``/file`` to the second's ``/stored``."""
    second = _serve({"/stored": (200, {}, b"%PDF-1.4 stored")})
    second_url = f"http://127.0.0.1:{second.server_port}"
    first = _serve({"/file": (302, {"Location": f"{second_url}/stored"}, b""), "/here": (200, {}, b"here")})
    yield f"http://127.0.0.1:{first.server_port}", second_url
    first.shutdown()
    second.shutdown()


@pytest.fixture
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def test_a_redirect_to_another_origin_is_followed_when_retries_allow_it(
    origins: tuple[str, str], no_proxy_env: None
) -> None:
    first, _ = origins
    transport = Transport(pool_size=2, connect_timeout=5, read_timeout=5)
    try:
        response = transport.request("GET", f"{first}/file", retries=urllib3.Retry(total=3, redirect=2))
        assert (response.status, response.data) == (200, b"%PDF-1.4 stored")
        assert transport.request("GET", f"{first}/here").data == b"here"
    finally:
        transport.close()


def test_without_retries_a_redirect_is_returned_as_it_is(
    origins: tuple[str, str], no_proxy_env: None
) -> None:
    first, second = origins
    transport = Transport(pool_size=2, connect_timeout=5, read_timeout=5)
    try:
        response = transport.request("GET", f"{first}/file")
        assert response.status == 302
        assert response.headers["Location"] == f"{second}/stored"
    finally:
        transport.close()


def test_a_proxy_from_the_environment_is_used_unless_no_proxy_names_the_host(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "bypassed.example")
    transport = Transport(pool_size=2, connect_timeout=5, read_timeout=5)
    assert transport._direct("https://hub.example/candidate") is None
    assert isinstance(transport._manager("https://hub.example/candidate"), urllib3.ProxyManager)
    direct = transport._direct("https://bypassed.example/candidate")
    assert direct is not None and direct[1] == "/candidate"


def test_a_socks_proxy_is_refused_with_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "socks5://proxy.internal:1080")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    transport = Transport(pool_size=2, connect_timeout=5, read_timeout=5)
    with pytest.raises(ValueError) as refused:
        transport.request("GET", "https://hub.example/candidate")
    assert str(refused.value) == (
        "the proxy set in the environment is not an http:// or https:// URL (socks5:// is not supported)"
    )


def test_the_session_reads_the_environment_once_per_origin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://first.internal:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    session = PooledSession(pool_size=2)
    settings = session.merge_environment_settings("https://api.example/v1/", {}, None, None, None)
    monkeypatch.setenv("HTTPS_PROXY", "http://second.internal:3128")
    again = session.merge_environment_settings("https://api.example/v1/other", {}, None, None, None)
    other = session.merge_environment_settings("https://other.example/", {}, None, None, None)
    assert settings["proxies"]["https"] == again["proxies"]["https"] == "http://first.internal:3128"
    assert other["proxies"]["https"] == "http://second.internal:3128"
    assert session.trust_env is False

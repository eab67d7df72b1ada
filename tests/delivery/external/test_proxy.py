"""Proxies from the environment: the hub POST and downloads go through urllib3 directly."""

from __future__ import annotations

import base64
import http.client
import http.server
import os
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from airflow_provider_broadbean.pipeline import RunOptions
from tests.delivery.helpers import Workflow, email_of, person, profile_key

USER, PASSWORD = "proxyuser", "proxy-pass-SECRET"


class _Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    seen: list[tuple[str, str, bool]] = []
    need_auth = True

    def _forward(self) -> None:
        expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        authorised = self.headers.get("Proxy-Authorization") == expected
        self.seen.append((self.command, self.path, authorised))
        if self.need_auth and not authorised:
            body = b"<html>407 Proxy Authentication Required</html>"
            self.send_response(407)
            self.send_header("Proxy-Authenticate", 'Basic realm="p"')
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        target = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {
            k: v
            for k, v in self.headers.items()
            if k.lower() not in ("proxy-authorization", "connection", "proxy-connection")
        }
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
        conn.request(
            self.command,
            target.path + (f"?{target.query}" if target.query else ""),
            body=body,
            headers=headers,
        )
        reply = conn.getresponse()
        data = reply.read()
        self.send_response(reply.status)
        for k, v in reply.getheaders():
            if k.lower() not in ("connection", "transfer-encoding", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        conn.close()

    do_GET = do_POST = _forward

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[_Proxy]]:
    handler = type("P", (_Proxy,), {"seen": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://{USER}:{PASSWORD}@127.0.0.1:{server.server_port}"
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", url)
    monkeypatch.setenv("NO_PROXY", "")
    monkeypatch.delenv("no_proxy", raising=False)
    yield handler
    server.shutdown()


def test_an_authenticated_proxy_from_the_environment_carries_the_hub_post(
    workflow: Workflow, proxy: Any
) -> None:
    for index in (1, 2):
        workflow.sandbox.hrflow.put_profile(
            workflow.source_key, person(profile_key(index), f"P {index}", email_of(index))
        )
    result = workflow.run(options=RunOptions(concurrency=1))
    hrflow_ok = any(ok for m, p, ok in proxy.seen if "/v1/" in p)
    hub_ok = any(ok for m, p, ok in proxy.seen if p.endswith("/candidate"))
    assert hrflow_ok, "the HrFlow SDK path (requests) should authenticate to the proxy"
    assert hub_ok and len(result.delivered) == 2, "the hub POST went to the proxy without Proxy-Authorization"
    assert PASSWORD not in repr(result.summary())


def test_a_proxy_given_without_a_scheme_is_used_as_requests_uses_it(
    workflow: Workflow, proxy: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy.need_auth = False
    port = urlsplit(os.environ["HTTP_PROXY"]).port
    monkeypatch.setenv("HTTP_PROXY", f"127.0.0.1:{port}")
    workflow.sandbox.hrflow.put_profile(workflow.source_key, person(profile_key(1), "P 1", email_of(1)))

    result = workflow.run(options=RunOptions(concurrency=1))

    assert list(result.delivered) == [profile_key(1)]
    assert [method for method, path, _ in proxy.seen if path.endswith("/candidate")] == ["POST"]


def test_a_proxy_that_is_not_http_fails_the_sends_without_naming_its_value(
    workflow: Workflow, proxy: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``user:password@host`` without a scheme reads as the scheme ``user``: refused, not echoed."""
    port = urlsplit(os.environ["HTTP_PROXY"]).port
    monkeypatch.setenv("HTTP_PROXY", f"{USER}:{PASSWORD}@127.0.0.1:{port}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")  # HrFlow's calls go direct; the hub's are tested
    workflow.hub_url = workflow.sandbox.hub_url.replace("127.0.0.1", "localhost")
    workflow.sandbox.hrflow.put_profile(workflow.source_key, person(profile_key(1), "P 1", email_of(1)))

    result = workflow.run(options=RunOptions(concurrency=1))

    assert result.events["write_failure"] == 1 and result.unconfirmed == []
    assert (
        "the proxy set in the environment is not an http:// or https:// URL" in result.failed[profile_key(1)]
    )
    assert USER not in repr(result.summary()) and PASSWORD not in repr(result.summary())
    assert workflow.state()["retry"][profile_key(1)]["error"] == result.failed[profile_key(1)]

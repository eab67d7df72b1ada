"""A TLS handshake that fails (certificate not trusted) happens before any byte of the request."""

from __future__ import annotations

import http.server
import shutil
import ssl
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_broadbean.pipeline import RunOptions
from tests.delivery.helpers import Workflow, email_of, person, profile_key


class _Hub(http.server.BaseHTTPRequestHandler):
    posts: list[str] = []

    def do_POST(self) -> None:
        self.posts.append(self.path)
        body = b'{"success": 1, "transaction_id": "TX-TLS"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def untrusted_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make the hub's self-signed certificate")
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    handler = type("H", (_Hub,), {"posts": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    yield f"https://127.0.0.1:{server.server_port}", handler
    server.shutdown()


def test_an_untrusted_hub_certificate_is_not_an_unconfirmed_send(
    workflow: Workflow, untrusted_hub: Any
) -> None:
    url, handler = untrusted_hub
    for index in (1, 2, 3):
        workflow.sandbox.hrflow.put_profile(
            workflow.source_key, person(profile_key(index), f"P {index}", email_of(index))
        )
    workflow.hub_url = url
    result = workflow.run(options=RunOptions(concurrency=1))
    print(result.summary()["unconfirmed"], result.summary()["failed"])
    assert handler.posts == []  # nothing reached the hub
    assert result.unconfirmed == [], (
        "a certificate failure (no request sent) was reported as 'unconfirmed' and left pending: "
        f"{len(result.unconfirmed)} profiles now wait for resend_unconfirmed; "
        f"pending={len(workflow.pending_keys())}"
    )

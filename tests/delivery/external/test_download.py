"""Attachment downloads: redirects across origins, loops, pre-signed queries in messages."""

from __future__ import annotations

import logging
import socket
import time
from typing import Any

import pytest

from airflow_provider_broadbean.exceptions import AttachmentError
from airflow_provider_broadbean.hrflow_client import HrFlowApi
from airflow_provider_broadbean.pipeline import RunOptions
from sandbox.config import HRFLOW_API_SECRET, HRFLOW_API_USER
from tests.delivery.helpers import Workflow, person, profile_key

PDF = b"%PDF-1.4\n%external\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
SIG_A = "X-Amz-Signature=aaaaSECRETaaaa"
SIG_B = "X-Amz-Signature=bbbbSECRETbbbb"


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def api(sandbox: Any) -> HrFlowApi:
    return HrFlowApi(
        api_secret=HRFLOW_API_SECRET,
        api_user=HRFLOW_API_USER,
        api_url=sandbox.hrflow_url,
        timeout=3.0,
        max_attempts=2,
    )


def download(sandbox: Any, url: str) -> bytes:
    """One download through a client of its own, closed afterwards."""
    client = api(sandbox)
    try:
        return client.download(url)
    finally:
        client.close()


def other_origin(url: str) -> str:
    return url.replace("127.0.0.1", "localhost")


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_redirect_to_another_origin_downloads(sandbox: Any) -> None:
    sandbox.hrflow.put_file("real.pdf", PDF)
    target = other_origin(sandbox.files_url) + "/real.pdf?" + SIG_B
    sandbox.hrflow.put_file("r1", b"", status=302, headers={"Location": target})
    assert download(sandbox, sandbox.files_url + "/r1?" + SIG_A) == PDF


def test_redirect_loop_is_bounded_and_names_no_presigned_query(sandbox: Any) -> None:
    a = sandbox.files_url + "/loop-a?" + SIG_A
    b = other_origin(sandbox.files_url) + "/loop-b?" + SIG_B
    sandbox.hrflow.put_file("loop-a", b"", status=302, headers={"Location": b})
    sandbox.hrflow.put_file("loop-b", b"", status=302, headers={"Location": a})
    started = time.monotonic()
    with pytest.raises(AttachmentError) as caught:
        download(sandbox, a)
    assert time.monotonic() - started < 10
    message = str(caught.value)
    assert message.startswith(f"downloading {sandbox.files_url}/loop-a: "), message
    assert "redirect" in message.lower() and "SECRET" not in message, message


def test_redirect_to_a_dead_presigned_host_names_no_query(sandbox: Any) -> None:
    target = f"http://127.0.0.1:{closed_port()}/bucket/cv.pdf?{SIG_B}"
    sandbox.hrflow.put_file("to-dead", b"", status=302, headers={"Location": target})
    with pytest.raises(AttachmentError) as caught:
        download(sandbox, sandbox.files_url + "/to-dead?" + SIG_A)
    message = str(caught.value)
    assert message.startswith(f"downloading {sandbox.files_url}/to-dead: "), message
    assert "SECRET" not in message, message


def test_presigned_query_stays_out_of_result_state_and_logs(workflow: Workflow, caplog: Any) -> None:
    sandbox = workflow.sandbox
    target = f"http://127.0.0.1:{closed_port()}/bucket/cv.pdf?{SIG_B}"
    sandbox.hrflow.put_file("to-dead", b"", status=302, headers={"Location": target})
    url = sandbox.files_url + "/to-dead?" + SIG_A
    key = profile_key(1)
    sandbox.hrflow.put_profile(
        workflow.source_key,
        person(
            key,
            "Cv Person",
            "cv@example.test",
            attachments=[{"type": "resume", "file_name": "cv", "extension": ".pdf", "public_url": url}],
        ),
    )
    caplog.set_level(logging.INFO)
    result = workflow.run(options=RunOptions(concurrency=1))
    where = {
        "result summary (XCom)": repr(result.summary()),
        "state document (Variable)": repr(workflow.state()),
        "log records >= INFO": "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.INFO),
    }
    print({name: [s for s in (SIG_A, SIG_B) if s in text] for name, text in where.items()})
    text = "".join(where.values())
    leaks = sorted({s for s in (SIG_A, SIG_B) if s in text})
    print(result.summary()["failed"])
    assert leaks == [], f"pre-signed query in result/state/log: {leaks}"


def test_redirects_leave_no_presigned_query_in_urllib3_logs(sandbox: Any, caplog: Any) -> None:
    """urllib3's pool manager logs each redirect with both URLs, outside the pool logger."""
    caplog.set_level(logging.DEBUG, logger="urllib3")
    sandbox.hrflow.put_file("real.pdf", PDF)
    sandbox.hrflow.put_file(
        "hop2", b"", status=302, headers={"Location": sandbox.files_url + "/real.pdf?" + SIG_B}
    )
    second = other_origin(sandbox.files_url) + "/hop2?" + SIG_A
    sandbox.hrflow.put_file("hop1", b"", status=302, headers={"Location": second})
    assert download(sandbox, sandbox.files_url + "/hop1?" + SIG_A) == PDF
    messages = [record.getMessage() for record in caplog.records if record.name.startswith("urllib3")]
    assert any("Redirecting" in message for message in messages)
    assert [message for message in messages if "SECRET" in message] == []

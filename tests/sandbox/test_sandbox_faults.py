"""Fault injection, as a plain ``requests`` client sees it, on both emulators."""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest
import requests

from sandbox import Sandbox
from sandbox.candidate_hub import signed_headers
from sandbox.config import HRFLOW_API_SECRET, HRFLOW_API_USER, HUB_SECRET

AUTH = {"X-API-KEY": HRFLOW_API_SECRET, "X-USER-EMAIL": HRFLOW_API_USER}
BODY = {
    "transaction": {"client_id": "123", "source_id": "board1"},
    "candidate": {
        "name": "Dup Example",
        "email": "dup@example.test",
        "documents": [
            {"filename": "cv.pdf", "type": "cv", "content": base64.b64encode(b"%PDF-1.4\n").decode()}
        ],
    },
    "context": {"job_id": "J-1"},
}


def push(sandbox: Sandbox, timeout: float = 5, headers: dict[str, str] | None = None) -> requests.Response:
    """A valid, freshly signed POST /candidate."""
    sent = dict(signed_headers(HUB_SECRET, "board1")) if headers is None else headers
    return requests.post(f"{sandbox.hub_url}/candidate", json=BODY, headers=sent, timeout=timeout)


def auth(sandbox: Sandbox, timeout: float = 5) -> requests.Response:
    return requests.get(sandbox.hrflow_url + "auth", headers=AUTH, timeout=timeout)


# -- hub ---------------------------------------------------------------------------------------------


def test_hub_error_rate_gives_5xx_before_auth(sandbox: Sandbox) -> None:
    sandbox.hub.set_faults(error_rate=1.0, error_status=502)
    reply = push(sandbox, headers={"X-CHUB-SOURCE": "board1"})
    assert reply.status_code == 502
    assert reply.json() == {"success": 0, "error": "bad gateway"}
    assert sandbox.hub.accepted() == []


def test_hub_error_can_be_an_html_page(sandbox: Sandbox) -> None:
    sandbox.hub.set_faults(error_rate=1.0, error_html=True)
    reply = push(sandbox)
    assert reply.status_code == 503
    assert reply.headers["Content-Type"] == "text/html"
    assert reply.text.startswith("<html>")


def test_hub_rate_limit_with_retry_after(sandbox: Sandbox) -> None:
    sandbox.hub.set_faults(rate_limit_rate=1.0, retry_after=7)
    reply = push(sandbox)
    assert reply.status_code == 429
    assert reply.headers["Retry-After"] == "7"
    sandbox.hub.set_faults(rate_limit_rate=1.0)
    assert "Retry-After" not in push(sandbox).headers


def test_hub_reset_is_seen_as_connection_reset(sandbox: Sandbox) -> None:
    sandbox.hub.set_faults(reset_rate=1.0)
    with pytest.raises(requests.ConnectionError) as caught:
        push(sandbox)
    assert "ConnectionResetError" in repr(caught.value)
    assert sandbox.hub.accepted() == []
    assert sandbox.hub.requests()[0]["fault"] == "random:reset"


def test_hub_drop_after_commit_stores_then_closes(sandbox: Sandbox) -> None:
    sandbox.hub.set_faults(drop_after_commit_rate=1.0)
    with pytest.raises(requests.ConnectionError):
        push(sandbox)
    assert len(sandbox.hub.accepted()) == 1
    entry = sandbox.hub.requests()[0]
    assert entry["outcome"] == "accepted" and entry["fault"] == "random:drop_after_commit"


def test_hub_drop_after_commit_can_hang_past_the_client_timeout(sandbox: Sandbox) -> None:
    sandbox.hub.set_faults(drop_after_commit_rate=1.0, hang_after_commit_s=5)
    started = time.monotonic()
    with pytest.raises(requests.ReadTimeout):
        push(sandbox, timeout=0.3)
    assert time.monotonic() - started < 2
    assert len(sandbox.hub.accepted()) == 1


def test_hub_latency(sandbox: Sandbox) -> None:
    sandbox.hub.set_faults(latency_ms=250)
    started = time.monotonic()
    assert push(sandbox).status_code == 200
    assert time.monotonic() - started >= 0.25


def test_seeded_rates_repeat_the_same_pattern(sandbox: Sandbox) -> None:
    def pattern() -> list[int]:
        sandbox.hub.set_faults(error_rate=0.5, seed=42)
        return [push(sandbox).status_code for _ in range(12)]

    first = pattern()
    assert first == pattern()
    assert {200, 503} == set(first)


def test_rates_above_one_are_refused(sandbox: Sandbox) -> None:
    with pytest.raises(ValueError, match="<= 1"):
        sandbox.hub.set_faults(error_rate=0.6, reset_rate=0.6)
    with pytest.raises(ValueError, match="unknown"):
        sandbox.hrflow.set_faults(drop_after_commit_rate=0.1)


def test_hub_scripted_queue_rate_limit_case(sandbox: Sandbox) -> None:
    """cases/rate_limit.md, case 1: 429, 429, then success; every attempt signed afresh."""
    sandbox.hub.enqueue(
        {"status": 429, "headers": {"Retry-After": "2"}},
        {"status": 429, "headers": {"Retry-After": "2"}},
        {"action": "commit", "body": {"success": 1, "transaction_id": "TX-9"}},
    )
    replies = []
    for attempt in range(3):
        headers = dict(signed_headers(HUB_SECRET, "board1", int(time.time()) + attempt))
        replies.append(push(sandbox, headers=headers))
    assert [r.status_code for r in replies] == [429, 429, 200]
    assert replies[0].headers["Retry-After"] == "2"
    assert replies[2].json() == {"success": 1, "transaction_id": "TX-9"}
    assert len(sandbox.hub.accepted()) == 1
    times = [entry["signature_time"] for entry in sandbox.hub.requests()]
    assert len(set(times)) == 3


def test_hub_scripted_success_without_commit_stores_nothing(sandbox: Sandbox) -> None:
    sandbox.hub.enqueue(
        {"status": 200, "body": {"success": 1, "transaction_id": "TX-0001"}},
        {
            "status": 200,
            "content_type": "text/html; charset=utf-8",
            "body": "<html><title>Maintenance</title></html>",
        },
        {
            "status": 502,
            "content_type": "text/html",
            "body": "<html><body><h1>502 Bad Gateway</h1></body></html>",
        },
        {"action": "commit", "status": 500, "body": '{"success":0,"error":"stored as {transaction_id}"}'},
        {"action": "pass"},
    )
    first = push(sandbox)
    assert first.json() == {"success": 1, "transaction_id": "TX-0001"}
    assert first.headers["Content-Type"] == "application/json; charset=utf-8"
    assert push(sandbox).headers["Content-Type"] == "text/html; charset=utf-8"
    assert push(sandbox).status_code == 502
    assert sandbox.hub.accepted() == []
    committed = push(sandbox)
    assert committed.status_code == 500 and committed.json()["error"] == "stored as TX-000001"
    assert push(sandbox).json() == {"success": 1, "transaction_id": "TX-000002"}
    assert len(sandbox.hub.accepted()) == 2
    assert sandbox.hub.faults()["script_remaining"] == 0


def test_hub_scripted_actions(sandbox: Sandbox) -> None:
    sandbox.hub.enqueue({"action": "reset"}, {"action": "drop"}, {"action": "drop_after_commit"})
    with pytest.raises(requests.ConnectionError):
        push(sandbox)
    with pytest.raises(requests.ConnectionError):
        push(sandbox)
    assert sandbox.hub.accepted() == []
    with pytest.raises(requests.ConnectionError):
        push(sandbox)
    assert len(sandbox.hub.accepted()) == 1
    assert push(sandbox).status_code == 200


def test_hub_faults_over_http(sandbox: Sandbox) -> None:
    admin = sandbox.hub_url + "/_sandbox/faults"
    settings = {"rate_limit_rate": 1.0, "retry_after": 3, "script": [{"status": 503}]}
    assert requests.post(admin, json=settings, timeout=5).json()["data"]["script_remaining"] == 1
    assert push(sandbox).status_code == 503
    assert push(sandbox).status_code == 429
    assert requests.post(admin + "/script", json=[{"status": 504}], timeout=5).status_code == 200
    assert push(sandbox).status_code == 504
    assert requests.delete(admin, timeout=5).json()["data"]["settings"]["rate_limit_rate"] == 0.0
    assert push(sandbox).status_code == 200
    bad = requests.post(admin, json={"script": [{"action": "explode"}]}, timeout=5)
    assert bad.status_code == 400 and bad.json()["ok"] is False


# -- hrflow ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "status", "content_type"),
    [
        ({"error_rate": 1.0}, 503, "application/json"),
        ({"error_rate": 1.0, "error_status": 500, "error_html": True}, 500, "text/html"),
        ({"rate_limit_rate": 1.0, "retry_after": 1}, 429, "application/json"),
        ({"html_rate": 1.0}, 200, "text/html"),
    ],
)
def test_hrflow_random_faults(
    sandbox: Sandbox, settings: dict[str, Any], status: int, content_type: str
) -> None:
    sandbox.hrflow.set_faults(**settings)
    reply = auth(sandbox)
    assert reply.status_code == status
    assert reply.headers["Content-Type"] == content_type
    if status == 429:
        assert reply.headers["Retry-After"] == "1"
    if content_type == "application/json":
        assert reply.json()["code"] == status


def test_hrflow_hang_outlasts_the_client_timeout(sandbox: Sandbox) -> None:
    sandbox.hrflow.set_faults(hang_rate=1.0, hang_s=5)
    started = time.monotonic()
    with pytest.raises(requests.ReadTimeout):
        auth(sandbox, timeout=0.3)
    assert time.monotonic() - started < 2


def test_hrflow_scripted_queue_then_normal(sandbox: Sandbox) -> None:
    sandbox.hrflow.enqueue(
        {"status": 502, "content_type": "text/html", "body": "<html>bad gateway</html>"},
        {"action": "reset"},
        {"status": 402, "body": {"code": 402, "message": "Over quota"}},
    )
    assert auth(sandbox).status_code == 502
    with pytest.raises(requests.ConnectionError):
        auth(sandbox)
    assert auth(sandbox).json() == {"code": 402, "message": "Over quota"}
    assert auth(sandbox).status_code == 200
    faults = [entry["fault"] for entry in sandbox.hrflow.requests()]
    assert faults == ["script:reply", "script:reset", "script:reply", None]


def test_hrflow_faults_do_not_touch_files_or_admin(sandbox: Sandbox) -> None:
    sandbox.hrflow.set_faults(error_rate=1.0)
    url = sandbox.hrflow.profiles()[0]["attachments"][0]["public_url"]
    assert requests.get(url, timeout=5).status_code == 200
    assert requests.get(sandbox.hrflow.base_url + "/_sandbox/health", timeout=5).status_code == 200
    assert auth(sandbox).status_code == 503


def test_stop_does_not_wait_for_a_hang(tmp_path: Any) -> None:
    sandbox = Sandbox(seed_dir=None).start()
    sandbox.hub.set_faults(hang_rate=1.0, hang_s=30)
    with pytest.raises(requests.ReadTimeout):
        push(sandbox, timeout=0.2)
    started = time.monotonic()
    sandbox.stop()
    assert time.monotonic() - started < 1.5

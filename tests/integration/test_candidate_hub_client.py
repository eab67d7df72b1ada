"""The Candidate Hub client against the sandbox hub, over real HTTP.

Covers the handed cases ``hub_replies.md`` and ``rate_limit.md``: every reply that is not a clean
success ends in a typed error (never a crash), retries only what is safe to repeat, and signs each
attempt afresh.
"""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest

from airflow_provider_broadbean.candidate_hub import CandidateHubClient, RetryPolicy, encode_envelope
from airflow_provider_broadbean.exceptions import HubError
from sandbox.config import HUB_SECRET

ENVELOPE: dict[str, Any] = {
    "transaction": {"client_id": "123", "source_id": "board1"},
    "candidate": {"name": "Ada Example", "email": "ada@example.test"},
    "context": {"job_id": "R-444"},
}


class RecordingSleep:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def client(sandbox: Any, **kwargs: Any) -> CandidateHubClient:
    kwargs.setdefault("retry", RetryPolicy(max_attempts=3, initial_wait=0.01, max_wait=0.05))
    return CandidateHubClient(secret_key=HUB_SECRET, base_url=sandbox.hub_url, **kwargs)


def posts(sandbox: Any) -> list[dict[str, Any]]:
    return [entry for entry in sandbox.hub.requests() if entry["path"] == "/candidate"]


def test_success_returns_the_transaction_id(sandbox: Any) -> None:
    transaction_id = client(sandbox).send(ENVELOPE)
    [stored] = sandbox.hub.accepted()
    assert stored["transaction_id"] == transaction_id
    assert stored["body"] == ENVELOPE


def test_html_502_is_retried_then_reported(sandbox: Any) -> None:
    html = "<html><body><h1>502 Bad Gateway</h1></body></html>"
    sandbox.hub.enqueue(*[{"status": 502, "content_type": "text/html", "body": html}] * 3)
    with pytest.raises(HubError) as caught:
        client(sandbox).send(ENVELOPE)
    assert caught.value.status == 502
    assert caught.value.retryable and not caught.value.ambiguous
    assert "502 Bad Gateway" in str(caught.value)
    assert len(posts(sandbox)) == 3
    assert sandbox.hub.accepted() == []


def test_html_502_then_success(sandbox: Any) -> None:
    sandbox.hub.enqueue({"status": 502, "content_type": "text/html", "body": "<html>502</html>"})
    assert client(sandbox).send(ENVELOPE).startswith("TX-")
    assert len(posts(sandbox)) == 2


def test_200_html_maintenance_page_is_a_failure_cut_to_500_characters(sandbox: Any) -> None:
    page = "<html><title>Maintenance</title>" + "x" * 2000 + "</html>"
    sandbox.hub.enqueue({"status": 200, "content_type": "text/html; charset=utf-8", "body": page})
    with pytest.raises(HubError) as caught:
        client(sandbox).send(ENVELOPE)
    assert caught.value.status == 200 and not caught.value.retryable
    assert "Maintenance" in str(caught.value)
    assert len(str(caught.value)) < 700
    assert len(posts(sandbox)) == 1


def test_200_with_success_0_carries_the_hub_error(sandbox: Any) -> None:
    sandbox.hub.enqueue(
        {
            "status": 200,
            "content_type": "application/json; charset=utf-8",
            "body": '{"success":0,"error":"invalid signature"}',
        }
    )
    with pytest.raises(HubError) as caught:
        client(sandbox).send(ENVELOPE)
    assert caught.value.error == "invalid signature"
    assert not caught.value.retryable


def test_json_success_with_charset_gives_its_transaction_id(sandbox: Any) -> None:
    sandbox.hub.enqueue(
        {
            "status": 200,
            "content_type": "application/json; charset=utf-8",
            "body": '{"success":1,"transaction_id":"TX-0001"}',
        }
    )
    assert client(sandbox).send(ENVELOPE) == "TX-0001"


def test_400_is_not_retried(sandbox: Any) -> None:
    envelope = {**ENVELOPE, "candidate": {"name": "No Email"}}
    with pytest.raises(HubError) as caught:
        client(sandbox).send(envelope)
    assert caught.value.status == 400
    assert caught.value.error == "email is required"
    assert not caught.value.retryable
    assert len(posts(sandbox)) == 1


def test_wrong_secret_is_401_and_not_retried(sandbox: Any) -> None:
    wrong = CandidateHubClient(secret_key="not-the-secret", base_url=sandbox.hub_url)
    with pytest.raises(HubError) as caught:
        wrong.send(ENVELOPE)
    assert caught.value.status == 401
    assert "not-the-secret" not in str(caught.value)
    assert len(posts(sandbox)) == 1


def test_429_honours_retry_after_and_signs_each_attempt(sandbox: Any) -> None:
    sandbox.hub.enqueue(
        {"status": 429, "headers": {"Retry-After": "2"}},
        {"status": 429, "headers": {"Retry-After": "2"}},
        {"status": 200, "body": '{"success":1,"transaction_id":"TX-9"}'},
    )
    started = time.monotonic()
    transaction_id = client(sandbox, retry=RetryPolicy(max_attempts=5, max_wait=30)).send(ENVELOPE)
    elapsed = time.monotonic() - started
    assert transaction_id == "TX-9"
    assert 3.9 <= elapsed < 8
    times = [int(entry["signature_time"]) for entry in posts(sandbox)]
    assert len(times) == 3
    assert times[0] < times[1] < times[2]


def test_429_forever_gives_up_after_bounded_attempts_and_wait(sandbox: Any) -> None:
    sandbox.hub.set_faults(rate_limit_rate=1.0)
    sleep = RecordingSleep()
    policy = RetryPolicy(max_attempts=6, initial_wait=1.0, max_wait=8.0, max_total=120.0)
    with pytest.raises(HubError) as caught:
        CandidateHubClient(secret_key=HUB_SECRET, base_url=sandbox.hub_url, retry=policy, sleep=sleep).send(
            ENVELOPE
        )
    assert caught.value.status == 429 and caught.value.retryable
    assert len(posts(sandbox)) == 6
    assert len(sleep.waits) == 5
    assert all(0 < wait <= 8.0 for wait in sleep.waits)
    assert sleep.waits[2] > sleep.waits[0]  # exponential, whatever the jitter
    assert sum(sleep.waits) <= 5 * 8.0


def test_long_batches_sign_with_the_current_time(sandbox: Any) -> None:
    """A client created long ago still signs with the time of each request."""
    fake_now = [time.time() - 3600]
    hub = client(sandbox, clock=lambda: fake_now[0])
    with pytest.raises(HubError):
        hub.send(ENVELOPE)  # an hour-old clock is outside the five-minute window
    fake_now[0] = time.time()
    assert hub.send(ENVELOPE).startswith("TX-")


def test_read_timeout_after_commit_is_ambiguous_and_not_repeated(sandbox: Any) -> None:
    sandbox.hub.enqueue({"action": "drop_after_commit", "hang_s": 3})
    with pytest.raises(HubError) as caught:
        client(sandbox, read_timeout=0.5).send(ENVELOPE)
    assert caught.value.ambiguous and not caught.value.retryable
    assert len(posts(sandbox)) == 1
    assert len(sandbox.hub.accepted()) == 1


def test_connection_dropped_after_commit_is_ambiguous(sandbox: Any) -> None:
    sandbox.hub.enqueue({"action": "drop_after_commit"})
    with pytest.raises(HubError) as caught:
        client(sandbox).send(ENVELOPE)
    assert caught.value.ambiguous
    assert len(sandbox.hub.accepted()) == 1
    assert len(posts(sandbox)) == 1


def test_refused_connection_is_retried_and_never_ambiguous() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sleep = RecordingSleep()
    hub = CandidateHubClient(
        secret_key=HUB_SECRET,
        base_url=f"http://127.0.0.1:{port}",
        retry=RetryPolicy(max_attempts=3, initial_wait=0.01),
        sleep=sleep,
    )
    with pytest.raises(HubError) as caught:
        hub.send(ENVELOPE)
    assert caught.value.retryable and not caught.value.ambiguous
    assert len(sleep.waits) == 2


def test_unicode_arrives_byte_for_byte(sandbox: Any) -> None:
    name = "Zoë Ångström-Łukasiewicz Ёлкина 李小龍"
    envelope = {**ENVELOPE, "candidate": {"name": name, "email": "zoe@example.test"}}
    client(sandbox).send(envelope)
    assert sandbox.hub.accepted()[0]["body"]["candidate"]["name"] == name


def test_an_encoded_envelope_is_sent_as_encoded_and_signed_for_its_source(sandbox: Any) -> None:
    hub = client(sandbox)
    transaction_id = hub.send_encoded(encode_envelope(ENVELOPE), source_id="board1")
    [stored] = sandbox.hub.accepted()
    assert stored["transaction_id"] == transaction_id and stored["body"] == ENVELOPE
    assert stored["source"] == "board1"

    with pytest.raises(HubError) as refused:
        hub.send_encoded(encode_envelope(ENVELOPE), source_id="")
    assert str(refused.value) == "no source id to sign the request with (transaction.source_id is empty)"
    assert len(posts(sandbox)) == 1


def test_a_reply_echoing_the_secret_and_signature_is_masked(sandbox: Any) -> None:
    from airflow_provider_broadbean.signing import signature

    now = int(time.time())
    echoed = [signature(HUB_SECRET, "board1", now + delta) for delta in range(-5, 30)]
    body = '{"success":0,"error":"headers: ' + " ".join(echoed) + f' key={HUB_SECRET}"}}'
    sandbox.hub.enqueue({"status": 401, "body": body})
    with pytest.raises(HubError) as caught:
        client(sandbox).send(ENVELOPE)
    [request] = posts(sandbox)
    sent = signature(HUB_SECRET, "board1", int(request["signature_time"]))
    assert sent in echoed
    for text in (str(caught.value), caught.value.error or ""):
        assert sent not in text
        assert HUB_SECRET not in text
        assert "***" in text

"""BroadbeanHook built from an Airflow connection, against the sandbox hub."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_broadbean.exceptions import HubError
from airflow_provider_broadbean.hooks.broadbean import BroadbeanHook
from sandbox.config import HUB_SECRET

ENVELOPE = {
    "transaction": {"client_id": "123", "source_id": "board1"},
    "candidate": {"name": "Ada Example", "email": "ada@example.test"},
    "context": {"job_id": "R-444"},
}


def make_hook(monkeypatch: pytest.MonkeyPatch, sandbox: Any, **fields: Any) -> BroadbeanHook:
    conn = {"conn_type": "broadbean", "host": sandbox.hub_url, "password": HUB_SECRET, **fields}
    monkeypatch.setenv("AIRFLOW_CONN_BROADBEAN_TEST", json.dumps(conn))
    return BroadbeanHook(broadbean_conn_id="broadbean_test")


def test_sends_with_the_connection_secret(monkeypatch: pytest.MonkeyPatch, sandbox: Any) -> None:
    hook = make_hook(monkeypatch, sandbox)
    transaction_id = hook.send_candidate(ENVELOPE)
    assert [c["transaction_id"] for c in sandbox.hub.accepted()] == [transaction_id]
    assert sandbox.hub.accepted()[0]["source"] == "board1"


def test_login_is_the_signing_source_id(monkeypatch: pytest.MonkeyPatch, sandbox: Any) -> None:
    hook = make_hook(monkeypatch, sandbox, login="sandbox-board")
    hook.send_candidate(ENVELOPE)
    assert sandbox.hub.accepted()[0]["source"] == "sandbox-board"


def test_wrong_secret_is_reported_without_the_secret(monkeypatch: pytest.MonkeyPatch, sandbox: Any) -> None:
    hook = make_hook(monkeypatch, sandbox, password="a-wrong-secret-value")
    with pytest.raises(HubError) as caught:
        hook.send_candidate(ENVELOPE)
    assert caught.value.status == 401
    assert "a-wrong-secret-value" not in str(caught.value)
    assert "a-wrong-secret-value" not in repr(hook.get_conn())


def test_test_connection_checks_the_signature(monkeypatch: pytest.MonkeyPatch, sandbox: Any) -> None:
    ok, message = make_hook(monkeypatch, sandbox, login="board1").test_connection()
    assert ok, message
    assert sandbox.hub.accepted() == []

    ok, message = make_hook(monkeypatch, sandbox, login="board1", password="wrong-secret").test_connection()
    assert not ok
    assert "401" in message


def test_test_connection_reports_an_unreachable_hub(monkeypatch: pytest.MonkeyPatch, sandbox: Any) -> None:
    conn = {
        "conn_type": "broadbean",
        "host": "http://127.0.0.1:9",
        "password": HUB_SECRET,
        "extra": {"max_attempts": 1},
    }
    monkeypatch.setenv("AIRFLOW_CONN_BROADBEAN_DOWN", json.dumps(conn))
    ok, message = BroadbeanHook(broadbean_conn_id="broadbean_down").test_connection()
    assert not ok
    assert "could not connect" in message


def test_test_connection_without_a_source_id_does_not_claim_success(
    monkeypatch: pytest.MonkeyPatch, sandbox: Any
) -> None:
    ok, message = make_hook(monkeypatch, sandbox).test_connection()
    assert not ok
    assert "signing source id" in message

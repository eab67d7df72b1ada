"""HrFlowHook and its API client against the sandbox HrFlow API, over real HTTP."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from airflow_provider_broadbean.exceptions import AttachmentError, HrFlowError
from airflow_provider_broadbean.hooks.hrflow import HrFlowHook
from airflow_provider_broadbean.hrflow_client import HrFlowApi
from sandbox.config import HRFLOW_API_SECRET, HRFLOW_API_USER, HRFLOW_OTHER_API_SECRET, HRFLOW_OTHER_API_USER

SOURCE = "b" * 40


def profile(index: int, created: str | None = None) -> dict[str, Any]:
    return {
        "key": f"{index:040x}",
        "created_at": created or f"2026-05-04T10:{index:02d}:00+0000",
        "info": {"full_name": f"Person {index}", "email": f"p{index}@example.test"},
    }


@pytest.fixture
def source(sandbox: Any) -> str:
    sandbox.hrflow.add_source(SOURCE, "Test source")
    for index in range(1, 8):
        sandbox.hrflow.put_profile(SOURCE, profile(index))
    return SOURCE


@pytest.fixture
def api(sandbox: Any) -> HrFlowApi:
    return HrFlowApi(
        api_secret=HRFLOW_API_SECRET, api_user=HRFLOW_API_USER, api_url=sandbox.hrflow_url, timeout=5
    )


@pytest.fixture
def hook(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> HrFlowHook:
    conn = {
        "conn_type": "hrflow",
        "host": sandbox.hrflow_url,
        "login": HRFLOW_API_USER,
        "password": HRFLOW_API_SECRET,
        "extra": {"timeout": 5, "source_key": SOURCE},
    }
    monkeypatch.setenv("AIRFLOW_CONN_HRFLOW_TEST", json.dumps(conn))
    return HrFlowHook(hrflow_conn_id="hrflow_test")


def test_hook_reads_a_profile(hook: HrFlowHook, source: str) -> None:
    found = hook.get_profile(source, f"{3:040x}")
    assert found is not None
    assert found["info"]["email"] == "p3@example.test"


def test_missing_profile_is_none(hook: HrFlowHook, source: str) -> None:
    assert hook.get_profile(source, "f" * 40) is None


def test_unknown_source_is_an_error_naming_it(api: HrFlowApi, sandbox: Any) -> None:
    with pytest.raises(HrFlowError, match="source 'cccc"):
        api.get_profile("c" * 40, "f" * 40)


def test_bad_credentials_name_source_and_profile_but_not_the_key(sandbox: Any, source: str) -> None:
    wrong = HrFlowApi(api_secret="askw_" + "1" * 32, api_user=HRFLOW_API_USER, api_url=sandbox.hrflow_url)
    with pytest.raises(HrFlowError) as caught:
        wrong.get_profile(source, f"{1:040x}")
    assert caught.value.status == 401
    assert SOURCE in str(caught.value) and f"{1:040x}" in str(caught.value)
    assert "1" * 32 not in str(caught.value)


def test_key_without_access_to_the_source_is_401(sandbox: Any, source: str) -> None:
    outsider = HrFlowApi(
        api_secret=HRFLOW_OTHER_API_SECRET, api_user=HRFLOW_OTHER_API_USER, api_url=sandbox.hrflow_url
    )
    with pytest.raises(HrFlowError) as caught:
        outsider.get_profile(source, f"{1:040x}")
    assert caught.value.status == 401


def test_5xx_then_success(api: HrFlowApi, sandbox: Any, source: str) -> None:
    sandbox.hrflow.enqueue({"status": 503}, {"status": 502, "content_type": "text/html", "body": "<html/>"})
    found = api.get_profile(source, f"{2:040x}")
    assert found is not None and found["key"] == f"{2:040x}"


def test_429_with_retry_after(api: HrFlowApi, sandbox: Any, source: str) -> None:
    sandbox.hrflow.enqueue({"status": 429, "headers": {"Retry-After": "1"}})
    started = time.monotonic()
    assert api.get_profile(source, f"{2:040x}") is not None
    assert time.monotonic() - started >= 0.9


def test_persistent_html_reply_is_a_clear_error(sandbox: Any, source: str) -> None:
    api = HrFlowApi(
        api_secret=HRFLOW_API_SECRET, api_user=HRFLOW_API_USER, api_url=sandbox.hrflow_url, max_attempts=2
    )
    sandbox.hrflow.enqueue(*[{"status": 502, "content_type": "text/html", "body": "<html>down</html>"}] * 2)
    with pytest.raises(HrFlowError) as caught:
        api.get_profile(source, f"{2:040x}")
    assert caught.value.status == 502


def test_timeout_is_bounded(sandbox: Any, source: str) -> None:
    api = HrFlowApi(
        api_secret=HRFLOW_API_SECRET,
        api_user=HRFLOW_API_USER,
        api_url=sandbox.hrflow_url,
        timeout=0.5,
        max_attempts=1,
    )
    sandbox.hrflow.enqueue({"action": "hang", "hang_s": 3})
    started = time.monotonic()
    with pytest.raises(HrFlowError, match="could not be reached"):
        api.get_profile(source, f"{2:040x}")
    assert time.monotonic() - started < 2.5


def test_page_walk_sees_every_key_once(api: HrFlowApi, source: str) -> None:
    pages = list(api.iter_profile_pages(source, page_size=3))
    keys = [p["key"] for page in pages for p in page]
    assert keys == [f"{index:040x}" for index in range(1, 8)]
    assert [len(page) for page in pages] == [3, 3, 1]


def test_profile_inserted_mid_walk_is_seen_exactly_once(api: HrFlowApi, sandbox: Any, source: str) -> None:
    keys: list[str] = []
    walk = api.iter_profile_pages(source, page_size=3)
    keys.extend(p["key"] for p in next(walk))
    # Backdated: it lands before everything already read and shifts every later page by one.
    sandbox.hrflow.put_profile(source, profile(99, created="2026-05-01T00:00:00+0000"))
    for page in walk:
        keys.extend(p["key"] for p in page)
    assert sorted(keys) == sorted([f"{index:040x}" for index in range(1, 8)] + [f"{99:040x}"])
    assert len(keys) == len(set(keys))


def test_attachment_download_limits(api: HrFlowApi, sandbox: Any) -> None:
    ok = sandbox.hrflow.put_file("cv.pdf", b"%PDF-1.4\n")
    expired = sandbox.hrflow.put_file("gone.pdf", "<Error/>", status=403, content_type="application/xml")
    empty = sandbox.hrflow.put_file("empty.pdf", b"")
    big = sandbox.hrflow.put_file("big.pdf", b"x" * 5000)
    assert api.download(ok) == b"%PDF-1.4\n"
    with pytest.raises(AttachmentError, match="HTTP 403"):
        api.download(expired)
    with pytest.raises(AttachmentError, match="empty"):
        api.download(empty)
    with pytest.raises(AttachmentError, match="limit"):
        api.download(big, max_bytes=1000)


def test_test_connection(
    hook: HrFlowHook, source: str, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok, message = hook.test_connection()
    assert ok, message
    assert "Test source" in message

    conn = {
        "conn_type": "hrflow",
        "host": sandbox.hrflow_url,
        "login": HRFLOW_API_USER,
        "password": "askw_" + "2" * 32,
    }
    monkeypatch.setenv("AIRFLOW_CONN_HRFLOW_BAD", json.dumps(conn))
    ok, message = HrFlowHook(hrflow_conn_id="hrflow_bad").test_connection()
    assert not ok
    assert "401" in message and "2" * 32 not in message


def test_a_reply_that_echoes_the_key_is_redacted(sandbox: Any, source: str) -> None:
    api = HrFlowApi(
        api_secret=HRFLOW_API_SECRET, api_user=HRFLOW_API_USER, api_url=sandbox.hrflow_url, max_attempts=1
    )
    echo = json.dumps({"code": 403, "message": f"Forbidden for X-API-KEY={HRFLOW_API_SECRET}"})
    sandbox.hrflow.enqueue({"status": 403, "content_type": "application/json", "body": echo})
    with pytest.raises(HrFlowError) as caught:
        api.get_profile(source, f"{2:040x}")
    assert HRFLOW_API_SECRET not in str(caught.value)
    assert "X-API-KEY=***" in str(caught.value)


def test_hook_downloads_an_attachment_within_its_limit(hook: HrFlowHook, sandbox: Any) -> None:
    url = sandbox.hrflow.put_file("hook-cv.pdf", b"%PDF-1.4 hook\n")
    assert hook.download_attachment(url, max_bytes=100) == b"%PDF-1.4 hook\n"
    with pytest.raises(AttachmentError, match="limit"):
        hook.download_attachment(url, max_bytes=5)

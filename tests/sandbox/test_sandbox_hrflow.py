"""The HrFlow emulator: auth, single profile, listing (sort, paging, date filters), files, admin."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests
from hrflow import Hrflow

from sandbox import Sandbox
from sandbox.config import (
    HRFLOW_API_SECRET,
    HRFLOW_API_USER,
    HRFLOW_OTHER_API_SECRET,
    HRFLOW_OTHER_API_USER,
    SOURCE_KEY,
)
from sandbox.hrflow_api import parse_instant

AUTH = {"X-API-KEY": HRFLOW_API_SECRET, "X-USER-EMAIL": HRFLOW_API_USER}
MISSING_KEY = "0" * 40


def get(
    sandbox: Sandbox, path: str, headers: dict[str, str] | None = None, **params: Any
) -> requests.Response:
    """GET an API path with the main key pair unless other headers are given."""
    return requests.get(
        sandbox.hrflow_url + path, params=params, headers=AUTH if headers is None else headers, timeout=5
    )


def listing(sandbox: Sandbox, **params: Any) -> requests.Response:
    """GET storing/profiles for the seeded source."""
    query = {"source_keys": json.dumps([SOURCE_KEY]), "page": 1, "limit": 30, **params}
    return get(sandbox, "storing/profiles", **query)


def seeded_key(sandbox: Sandbox) -> str:
    return sandbox.hrflow.profiles()[0]["key"]


@pytest.mark.parametrize(
    "headers",
    [
        {"X-API-KEY": "askw_" + "0" * 32, "X-USER-EMAIL": HRFLOW_API_USER},
        {"X-API-KEY": HRFLOW_API_SECRET, "X-USER-EMAIL": "someone@else.test"},
        {"X-USER-EMAIL": HRFLOW_API_USER},
        {},
    ],
    ids=["wrong-secret", "wrong-user", "no-secret", "no-headers"],
)
def test_wrong_key_pair_is_401_without_echoing_the_key(sandbox: Sandbox, headers: dict[str, str]) -> None:
    for path in ("auth", "source", "profile/indexing", "storing/profiles"):
        reply = get(sandbox, path, headers, key=SOURCE_KEY, source_key=SOURCE_KEY)
        assert reply.status_code == 401
        assert reply.headers["Content-Type"] == "application/json"
        assert reply.json()["code"] == 401
        assert reply.json()["message"].startswith("Unauthorized. Invalid secret key")
        assert "0" * 32 not in reply.text and HRFLOW_API_SECRET not in reply.text


def test_key_pair_without_access_to_the_source_is_401(sandbox: Sandbox) -> None:
    other = {"X-API-KEY": HRFLOW_OTHER_API_SECRET, "X-USER-EMAIL": HRFLOW_OTHER_API_USER}
    assert get(sandbox, "auth", other).status_code == 200
    assert get(sandbox, "source", other, key=SOURCE_KEY).status_code == 401
    assert (
        get(sandbox, "profile/indexing", other, source_key=SOURCE_KEY, key=seeded_key(sandbox)).status_code
        == 401
    )
    reply = get(sandbox, "storing/profiles", other, source_keys=json.dumps([SOURCE_KEY]))
    assert reply.status_code == 401
    assert reply.json() == {"code": 401, "message": "Unauthorized. You do not have access to this source"}


def test_auth_and_source(sandbox: Sandbox) -> None:
    reply = get(sandbox, "auth")
    assert reply.status_code == 200
    assert reply.json()["code"] == 200 and reply.json()["data"]["email"] == HRFLOW_API_USER
    source = get(sandbox, "source", key=SOURCE_KEY).json()["data"]
    assert source["key"] == SOURCE_KEY and source["name"] == "Sandbox careers site"
    missing = get(sandbox, "source", key=MISSING_KEY)
    assert missing.status_code == 400
    assert missing.json() == {"code": 400, "message": "Invalid parameters. Unable to find object: source"}


def test_profile_by_key_and_by_reference(sandbox: Sandbox) -> None:
    profile = sandbox.hrflow.profiles()[0]
    by_key = get(sandbox, "profile/indexing", source_key=SOURCE_KEY, key=profile["key"])
    assert by_key.status_code == 200
    assert by_key.headers["Content-Type"] == "application/json"
    assert by_key.json()["data"] == profile
    by_reference = get(sandbox, "profile/indexing", source_key=SOURCE_KEY, reference=profile["reference"])
    assert by_reference.json()["data"]["key"] == profile["key"]


def test_missing_profile_is_http_400_with_the_exact_message(sandbox: Sandbox) -> None:
    for params in ({"key": MISSING_KEY}, {"reference": "no-such-reference"}):
        reply = get(sandbox, "profile/indexing", None, source_key=SOURCE_KEY, **params)
        assert reply.status_code == 400
        assert reply.headers["Content-Type"] == "application/json"
        assert reply.json() == {"code": 400, "message": "Invalid parameters. Unable to find object: profile"}


def test_the_hrflow_sdk_works_against_the_emulator(sandbox: Sandbox) -> None:
    client = Hrflow(api_url=sandbox.hrflow_url, api_secret=HRFLOW_API_SECRET, api_user=HRFLOW_API_USER)
    assert client.auth.get()["code"] == 200
    page = client.profile.storing.list(
        source_keys=[SOURCE_KEY], return_profile=True, page=1, limit=5, order_by="asc", sort_by="created_at"
    )
    assert page["code"] == 200 and page["meta"]["count"] == 5
    missing = client.profile.storing.get(source_key=SOURCE_KEY, key=MISSING_KEY)
    assert missing == {"code": 400, "message": "Invalid parameters. Unable to find object: profile"}


@pytest.mark.parametrize("sort_by", ["created_at", "updated_at"])
@pytest.mark.parametrize("order_by", ["asc", "desc"])
def test_listing_is_sorted_with_ties_broken_by_key(sandbox: Sandbox, sort_by: str, order_by: str) -> None:
    data = listing(sandbox, sort_by=sort_by, order_by=order_by, limit=100, return_profile="true").json()[
        "data"
    ]
    keys = [(parse_instant(item[sort_by]), item["key"]) for item in data]
    assert keys == sorted(keys, reverse=order_by == "desc")
    stamps = [item[sort_by] for item in data]
    assert len(set(stamps)) < len(stamps), "the seed has ties on both fields"


def test_paging_walks_every_profile_once(sandbox: Sandbox) -> None:
    seen: list[str] = []
    page, max_page = 1, 1
    while page <= max_page:
        body = listing(sandbox, order_by="asc", sort_by="created_at", limit=4, page=page).json()
        max_page = body["meta"]["maxPage"]
        assert body["meta"]["page"] == page and body["meta"]["count"] == len(body["data"])
        seen += [item["key"] for item in body["data"]]
        page += 1
    assert len(seen) == len(set(seen)) == body["meta"]["total"] == len(sandbox.hrflow.profiles())
    assert max_page == -(-len(seen) // 4)
    beyond = listing(sandbox, limit=4, page=max_page + 1).json()
    assert beyond["data"] == [] and beyond["meta"]["count"] == 0


def test_return_profile_false_gives_only_the_index_fields(sandbox: Sandbox) -> None:
    item = listing(sandbox, return_profile="false").json()["data"][0]
    assert set(item) == {"key", "reference", "created_at", "updated_at"}
    full = listing(sandbox, return_profile="True").json()["data"][0]
    assert "info" in full


@pytest.mark.parametrize(
    "low",
    [
        "2026-04-20T14:00:00+0000",
        "2026-04-20T14:00:00+00:00",
        "2026-04-20T14:00:00Z",
        "2026-04-20T16:00:00+02:00",
    ],
)
def test_created_at_min_compares_instants(sandbox: Sandbox, low: str) -> None:
    data = listing(sandbox, order_by="asc", sort_by="created_at", limit=100, created_at_min=low).json()[
        "data"
    ]
    instant = parse_instant(low)
    expected = [p["key"] for p in sandbox.hrflow.profiles() if parse_instant(p["created_at"]) >= instant]
    assert [item["key"] for item in data] == expected
    assert 0 < len(expected) < len(sandbox.hrflow.profiles())


def test_date_only_bounds_and_max(sandbox: Sandbox) -> None:
    data = listing(
        sandbox, order_by="asc", limit=100, created_at_min="2026-04-10", created_at_max="2026-04-15"
    )
    for item in data.json()["data"]:
        assert "2026-04-10T00:00:00+0000" <= item["created_at"] <= "2026-04-15T00:00:00+0000"
    assert data.json()["meta"]["total"] > 0


@pytest.mark.parametrize(
    "params",
    [
        {"sort_by": "location"},
        {"order_by": "up"},
        {"created_at_min": "2026-04-20T14:00:00"},
        {"created_at_min": "20/04/2026"},
        {"page": 0},
        {"limit": "ten"},
        {"return_profile": "yes"},
        {"source_keys": SOURCE_KEY},
    ],
)
def test_bad_listing_parameters_are_400(sandbox: Sandbox, params: dict[str, Any]) -> None:
    reply = listing(sandbox, **params)
    assert reply.status_code == 400
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.json()["message"].startswith("Invalid parameters.")


def test_unknown_source_in_listing_is_400(sandbox: Sandbox) -> None:
    reply = get(sandbox, "storing/profiles", source_keys=json.dumps([MISSING_KEY]))
    assert reply.json() == {"code": 400, "message": "Invalid parameters. Unable to find object: source"}


def test_content_type_is_exactly_application_json(sandbox: Sandbox) -> None:
    for reply in (get(sandbox, "auth"), get(sandbox, "nope"), get(sandbox, "auth", {}), listing(sandbox)):
        assert reply.headers["Content-Type"] == "application/json"


def test_put_profile_during_a_run_is_visible_and_removable(sandbox: Sandbox) -> None:
    profile = {
        "key": "a" * 40,
        "reference": "late-1",
        "created_at": "2026-03-01T08:00:00+0000",
        "info": {"full_name": "Late Example", "email": "late@example.test"},
    }
    stored = sandbox.hrflow.put_profile(SOURCE_KEY, profile)
    assert stored["created_at"] == "2026-03-01T08:00:00+0000"
    assert abs(parse_instant(stored["updated_at"]) - datetime.now(timezone.utc)) < timedelta(seconds=5)
    assert stored["source"]["key"] == SOURCE_KEY

    first = listing(sandbox, order_by="asc", sort_by="created_at", limit=1).json()["data"][0]
    assert first["key"] == "a" * 40
    newest = listing(sandbox, order_by="desc", sort_by="updated_at", limit=1).json()["data"][0]
    assert newest["key"] == "a" * 40
    assert get(sandbox, "profile/indexing", source_key=SOURCE_KEY, reference="late-1").status_code == 200

    assert sandbox.hrflow.remove_profile(SOURCE_KEY, "a" * 40)
    assert get(sandbox, "profile/indexing", source_key=SOURCE_KEY, key="a" * 40).status_code == 400


def test_cursor_case_replays(sandbox: Sandbox) -> None:
    """cases/cursor.json: out-of-order arrivals, then a late profile with the same created_at."""
    for key in [p["key"] for p in sandbox.hrflow.profiles()]:
        sandbox.hrflow.remove_profile(SOURCE_KEY, key)
    for key, stamp in (("a", "10:05"), ("b", "10:01"), ("c", "10:03")):
        sandbox.hrflow.put_profile(
            SOURCE_KEY, {"key": key + "0" * 39, "created_at": f"2026-05-04T{stamp}:00+0000"}
        )
    sandbox.hrflow.put_profile(SOURCE_KEY, {"key": "d" + "0" * 39, "created_at": "2026-05-04T10:05:00+0000"})
    data = listing(
        sandbox, order_by="asc", sort_by="created_at", created_at_min="2026-05-04T10:05:00Z"
    ).json()
    assert [item["key"][0] for item in data["data"]] == ["a", "d"]


def test_admin_http_endpoints(sandbox: Sandbox) -> None:
    admin = sandbox.hrflow.base_url + "/_sandbox/"
    profile = {
        "key": "b" * 40,
        "info": {"full_name": "Admin Example", "email": "admin@example.test"},
        "attachments": [{"type": "original", "public_url": "{files}/expired.pdf"}],
    }
    assert requests.post(admin + "profiles", json={"profile": profile}, timeout=5).json() == {
        "ok": True,
        "data": {"keys": ["b" * 40]},
    }
    reply = requests.post(
        admin + "files",
        json={
            "name": "expired.pdf",
            "status": 403,
            "content_type": "application/xml",
            "body": "<Error><Code>AccessDenied</Code></Error>",
        },
        timeout=5,
    )
    assert reply.json()["data"]["url"] == sandbox.files_url + "/expired.pdf"

    fetched = get(sandbox, "profile/indexing", source_key=SOURCE_KEY, key="b" * 40).json()["data"]
    url = fetched["attachments"][0]["public_url"]
    assert url == sandbox.files_url + "/expired.pdf"
    expired = requests.get(url, timeout=5)
    assert expired.status_code == 403
    assert expired.headers["Content-Type"] == "application/xml"

    listed = requests.get(admin + "profiles", timeout=5).json()["data"]
    assert "b" * 40 in [item["key"] for item in listed]
    log = requests.get(admin + "requests", timeout=5).json()["data"]
    assert [entry["path"] for entry in log][-2:] == ["/v1/profile/indexing", "/_files/expired.pdf"]
    removed = requests.delete(admin + "profiles", params={"key": "b" * 40}, timeout=5).json()
    assert removed["data"]["removed"] is True
    assert requests.post(admin + "profiles", json={"profile": {"key": "XYZ"}}, timeout=5).status_code == 400


def test_seed_files_are_served_with_their_declared_size(sandbox: Sandbox) -> None:
    checked = 0
    for profile in sandbox.hrflow.profiles():
        for attachment in profile.get("attachments") or []:
            reply = requests.get(attachment["public_url"], timeout=5)
            assert reply.status_code == 200
            assert reply.headers["Content-Type"] == "application/pdf"
            assert len(reply.content) == attachment["file_size"]
            assert reply.content.startswith(b"%PDF-1.4")
            checked += 1
    assert checked > 50
    assert requests.get(sandbox.files_url + "/nope.pdf", timeout=5).status_code == 404


def test_reset_reloads_the_seed(sandbox: Sandbox) -> None:
    count = len(sandbox.hrflow.profiles())
    sandbox.hrflow.remove_profile(SOURCE_KEY, seeded_key(sandbox))
    sandbox.hrflow.set_faults(error_rate=1.0)
    assert requests.post(sandbox.hrflow.base_url + "/_sandbox/reset", timeout=5).status_code == 200
    assert len(sandbox.hrflow.profiles()) == count
    assert get(sandbox, "auth").status_code == 200

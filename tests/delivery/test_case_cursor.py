"""The handed case ``cursor.json``: incremental polling neither skips nor repeats a profile.

Run 1 reads a, b and c (listed out of order); the hub answers 503 for c until run 2. Before run 2,
d arrives with the same ``created_at`` as a. Run 2 delivers c and d; nothing goes twice; the cursor
is UTC with an explicit offset, whatever the worker's time zone.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest

from airflow_provider_broadbean.pipeline import RunOptions
from tests.delivery.helpers import FAST_RETRY, Workflow, accepted_by_email, load_case

CASE = load_case("cursor.json")
UTC_WITH_OFFSET = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00")


@pytest.fixture(params=["UTC", "Pacific/Kiritimati", "America/St_Johns"])
def worker_tz(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The process time zone for one test: UTC, UTC+14, and UTC-3:30 (a half-hour offset)."""
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


def letter(profile: dict[str, Any]) -> str:
    return str(profile["key"][0])


def put(workflow: Workflow, profile: dict[str, Any], *, never_edited: bool) -> None:
    """Store a case profile; ``never_edited`` gives it ``updated_at == created_at``."""
    stored = dict(profile)
    if never_edited:
        stored["updated_at"] = profile["created_at"]
    workflow.sandbox.hrflow.put_profile(workflow.source_key, stored)


@pytest.mark.parametrize("never_edited", [True, False], ids=["updated_at=created_at", "updated_at=now"])
def test_cursor_case(workflow: Workflow, worker_tz: str, never_edited: bool) -> None:
    keys = {letter(p): p["key"] for p in CASE["run_1_profiles"] + CASE["arrives_before_run_2"]}
    for profile in CASE["run_1_profiles"]:
        put(workflow, profile, never_edited=never_edited)
    # One at a time, the run sends oldest first: b (10:01), c (10:03), a (10:05). c gets 503s.
    workflow.sandbox.hub.enqueue(
        {"action": "pass"}, *[{"status": 503}] * FAST_RETRY.max_attempts, {"action": "pass"}
    )
    options = RunOptions(concurrency=1)

    run_1 = workflow.run(options=options)

    assert sorted(keys[x] for x in CASE["expected"]["run_1_delivered"]) == sorted(run_1.delivered)
    assert list(run_1.failed) == [keys["c"]] and "503" in run_1.failed[keys["c"]]
    assert run_1.status.value == "success_with_failures"
    state = workflow.state()
    assert list(state["retry"]) == [keys["c"]]
    assert state["pending"] == {}
    cursor = state["cursor"]
    assert cursor["sort_by"] == "updated_at"
    assert UTC_WITH_OFFSET.fullmatch(cursor["value"]), cursor
    newest = max(p["updated_at"] for p in workflow.sandbox.hrflow.profiles(workflow.source_key))
    assert datetime.fromisoformat(cursor["value"]) == datetime.strptime(newest, "%Y-%m-%dT%H:%M:%S%z")
    if never_edited:
        assert cursor["value"] == "2026-05-04T10:05:00+00:00"

    for profile in CASE["arrives_before_run_2"]:
        put(workflow, profile, never_edited=never_edited)
    run_2 = workflow.run(options=options)

    assert sorted(keys[x] for x in CASE["expected"]["run_2_delivered"]) == sorted(run_2.delivered)
    assert run_2.failed == {} and run_2.unconfirmed == []
    assert run_2.events["skipped_already_delivered"] == 2  # a and b, seen again in the overlap
    assert accepted_by_email(workflow.sandbox) == {p["info"]["email"]: 1 for p in CASE["run_1_profiles"]} | {
        p["info"]["email"]: 1 for p in CASE["arrives_before_run_2"]
    }
    state = workflow.state()
    assert state["retry"] == {} and state["pending"] == {}
    assert set(state["delivered"]) == {f"{key}|{workflow.push['job_id']}" for key in keys.values()}
    assert UTC_WITH_OFFSET.fullmatch(state["cursor"]["value"])
    assert datetime.fromisoformat(state["cursor"]["value"]).utcoffset() == timezone.utc.utcoffset(None)

    run_3 = workflow.run(options=options)
    assert run_3.delivered == {} and run_3.events["write_success"] == 0
    assert len(workflow.sandbox.hub.accepted()) == 4

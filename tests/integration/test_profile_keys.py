"""Given profile keys (a fan-out batch) through the plain call, against the sandbox over real HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from airflow_provider_broadbean.pipeline import RunOptions
from airflow_provider_broadbean.result import Event
from airflow_provider_broadbean.state import JsonFileStateStore, WorkflowState
from tests.integration.pipeline_helpers import SOURCE, accepted_emails, person, run_action

KEY_1, KEY_2, KEY_3, KEY_4 = "1" * 40, "2" * 40, "3" * 40, "4" * 40
CURSOR = "2026-05-04T08:00:00+00:00"


@pytest.fixture
def source(sandbox: Any) -> str:
    sandbox.hrflow.add_source(SOURCE, "Profile keys tests")
    sandbox.hrflow.put_profile(SOURCE, person(KEY_1, "Ada Example", "ada@example.test"))
    cv_gone = {"type": "original", "original_file_name": "cv.pdf", "public_url": "{files}/gone.pdf"}
    sandbox.hrflow.put_profile(SOURCE, person(KEY_2, "Bo Example", "bo@example.test", attachments=[cv_gone]))
    sandbox.hrflow.put_profile(SOURCE, person(KEY_3, "Cy Example", "cy@example.test"))
    sandbox.hrflow.put_profile(SOURCE, person(KEY_4, "Di Example", "di@example.test"))
    return SOURCE


def test_exactly_the_given_profiles_go_and_transient_failures_are_kept(
    sandbox: Any, source: str, tmp_path: Path
) -> None:
    earlier = WorkflowState(JsonFileStateStore(tmp_path), "test-workflow")
    earlier.load()
    earlier.set_cursor("updated_at", CURSOR)
    earlier.record_delivery(KEY_4, "R-444", "TX-EARLIER")
    earlier.save()

    result = run_action(
        sandbox,
        tmp_path,
        pull_parameters={"source_key": source, "profile_keys": [KEY_1, KEY_2, KEY_4, KEY_1]},
        options=RunOptions(concurrency=2),
    )

    assert result.status.value == "success_with_failures"
    assert list(result.delivered) == [KEY_1]
    assert result.events[Event.skipped_already_delivered] == 1 and result.events[Event.format_failure] == 1
    assert accepted_emails(sandbox) == ["ada@example.test"]  # KEY_3 was not asked for
    document = JsonFileStateStore(tmp_path).load("test-workflow")
    assert document is not None
    assert list(document["retry"]) == [KEY_2]  # the CV could not be fetched: tried again later
    assert document["cursor"]["value"] == CURSOR
    assert sorted(document["delivered"]) == [f"{KEY_1}|R-444", f"{KEY_4}|R-444"]


def test_an_empty_list_sends_nothing_and_never_polls(sandbox: Any, source: str, tmp_path: Path) -> None:
    sandbox.hrflow.clear_requests()

    result = run_action(sandbox, tmp_path, pull_parameters={"source_key": source, "profile_keys": []})

    assert result.status.value == "success"
    assert sum(result.events.values()) == 0
    assert sandbox.hrflow.requests() == [] and sandbox.hub.requests() == []


@pytest.mark.parametrize(
    "pull",
    [
        {"source_key": SOURCE, "profile_key": KEY_1, "profile_keys": [KEY_2]},
        {"source_key": SOURCE, "profile_keys": KEY_1},
        {"source_key": SOURCE, "profile_keys": [KEY_1, ""]},
    ],
    ids=["both-ways", "not-a-list", "empty-key"],
)
def test_bad_profile_keys_are_refused_before_any_call(
    sandbox: Any, source: str, tmp_path: Path, pull: dict[str, Any]
) -> None:
    sandbox.hrflow.clear_requests()

    result = run_action(sandbox, tmp_path, pull_parameters=pull)

    assert result.status.value == "fatal" and result.reason.value == "bad_origin_parameters"
    assert "pull_parameters" in (result.detail or "")
    assert sandbox.hrflow.requests() == [] and sandbox.hub.requests() == []

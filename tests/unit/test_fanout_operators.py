"""The fan-out's operator arguments, checked before any network call, and the commit's summary."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from airflow_provider_broadbean.operators import (
    CommitProfileBatchesOperator,
    CreateProfilesInBroadbeanOperator,
    PlanProfileBatchesOperator,
)
from airflow_provider_broadbean.operators.commit_batches import _sequence, summarise

IDS: dict[str, Any] = {
    "workflow_id": "wf",
    "source_key": "s" * 40,
    "client_id": "1",
    "source_id": "board1",
    "job_id": "J",
}


@pytest.mark.parametrize("mode", ["poll", "event"])
def test_profile_keys_do_not_go_with_another_mode(mode: str) -> None:
    with pytest.raises(ValueError, match=f"profile_keys cannot be combined with mode='{mode}'"):
        CreateProfilesInBroadbeanOperator(task_id="send", profile_keys=["a" * 40], mode=mode, **IDS)


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"profile_keys": ["a" * 40], "profile_key": "b" * 40}, "profile_keys: not with profile_key"),
        (
            {"profile_keys": ["a" * 40], "hrflow_event": {"type": "profile.storing.success"}},
            "profile_keys: not with profile_key or hrflow_event",
        ),
        ({"profile_keys": "not a list"}, "profile_keys: expected a list"),
        ({"profile_keys": '{"a": 1}'}, "profile_keys: expected a list of profile keys, got dict"),
    ],
)
def test_bad_profile_keys_fail_before_any_connection(arguments: dict[str, Any], named: str) -> None:
    operator = CreateProfilesInBroadbeanOperator(task_id="send", **{**IDS, **arguments})
    result = operator.run_action()  # the connections do not exist: they must not be needed
    assert result.status.value == "fatal" and result.reason.value == "bad_origin_parameters"
    assert named in (result.detail or "")


def test_commit_runs_whatever_happened_to_the_batches() -> None:
    commit = CommitProfileBatchesOperator(task_id="commit", workflow_id="wf", plan={}, results=[])
    assert commit.trigger_rule == "all_done"
    with pytest.raises(TypeError, match="results"):  # without them, failed batches cannot be told
        CommitProfileBatchesOperator(task_id="commit", workflow_id="wf", plan={})  # type: ignore[call-arg]
    assert (
        PlanProfileBatchesOperator(task_id="plan", workflow_id="wf", source_key="s", job_id="J").batch_size
        == 100
    )


def test_batches_without_a_result_count_as_failed() -> None:
    plan = {"batches": 3, "planned": 25, "cursor": None}
    result = {"status": "success", "events": {"read_success": 10, "write_success": 10}}

    summary = summarise(plan, [result, result])

    assert summary["batches"] == 2 and summary["failed_batches"] == 1
    assert summary["status"] == "success_with_failures" and summary["delivered_count"] == 20
    assert summarise(plan, [result] * 3)["failed_batches"] == 0
    assert summarise(plan, [result] * 3)["status"] == "success"


@pytest.mark.parametrize(
    ("value", "count"),
    [(None, 0), ("", 0), ("None", 0), ([], 0), ('[{"a": 1}, {"b": 2}]', 2), ([{"a": 1}, None], 1)],
)
def test_the_commit_reads_the_results_in_any_rendered_form(value: Any, count: int) -> None:
    assert len(_sequence(value)) == count


def test_the_summary_sums_the_batches_with_the_planning_skips() -> None:
    plan = {
        "planned": 5,
        "deferred": 2,
        "skipped_already_delivered": 3,
        "skipped_unconfirmed": 1,
        "unconfirmed": ["u"],
        "cursor": "2026-05-04T09:24:00+00:00",
    }
    results = [
        {
            "status": "success",
            "events": {"read_success": 3, "write_success": 3},
            "failed": {},
            "unconfirmed": [],
        },
        {
            "status": "success_with_failures",
            "events": {"read_success": 2, "write_success": 1, "write_failure": 1},
            "failed": {"k": "HTTP 400"},
            "unconfirmed": [],
        },
    ]

    summary = summarise(plan, results)

    assert summary["status"] == "success_with_failures"
    assert summary["batches"] == 2 and summary["planned"] == 5 and summary["deferred"] == 2
    assert summary["delivered_count"] == 4
    assert summary["events"]["read_success"] == 5 and summary["events"]["write_failure"] == 1
    assert (
        summary["events"]["skipped_already_delivered"] == 3 and summary["events"]["skipped_unconfirmed"] == 1
    )
    assert summary["events"]["not_found"] == 0
    assert summary["failed"] == {"k": "HTTP 400"} and summary["unconfirmed"] == ["u"]
    assert summary["cursor"] == "2026-05-04T09:24:00+00:00"
    assert summarise(plan, [])["status"] == "success"


def test_the_operator_modules_stay_cheap_to_import() -> None:
    """A DAG file of the fan-out loads none of what only a task needs (airflow.sdk loads pydantic)."""
    code = (
        "import sys; import airflow.sdk; before = set(sys.modules); "
        "import airflow_provider_broadbean.operators.plan_batches, "
        "airflow_provider_broadbean.operators.commit_batches, "
        "airflow_provider_broadbean.operators.create_profiles; "
        "heavy = ('hrflow', 'pydantic', 'requests', 'airflow_provider_broadbean.pipeline', "
        "'airflow_provider_broadbean.mapping', 'airflow_provider_broadbean.fanout', "
        "'airflow_provider_broadbean.state'); "
        "print(','.join(sorted(n for n in set(sys.modules) - before "
        "if any(n == h or n.startswith(h + '.') for h in heavy))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1:] in ([], [""])

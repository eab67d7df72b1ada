"""Concurrent event runs of one workflow (webhooks for different profiles) lose no ledger entry.

Each run reads the state, sends its profile and writes the state back. With the JSON file store
the read, merge and write happen under a file lock (threads and processes alike). Airflow
Variables have no lock and no compare-and-set: a fake Variable backend with Airflow's semantics
(a get and a blind upsert, each a round trip) shows that the read-back after the last write of a
run repairs what a concurrent run overwrote. After all runs: every delivery is in the ledger, and
replaying every event sends nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_broadbean.pipeline import RunOptions
from airflow_provider_broadbean.state import VariableStateStore
from tests.delivery.helpers import BlindVariables, Workflow, accepted_by_email, email_of, person, profile_key

REPO = Path(__file__).resolve().parents[2]
RUNNERS = 8
EVENTS_PER_RUNNER = 5
PROFILES = RUNNERS * EVENTS_PER_RUNNER


def put_profiles(workflow: Workflow) -> list[str]:
    keys = [profile_key(index) for index in range(1, PROFILES + 1)]
    for index, key in enumerate(keys, start=1):
        workflow.sandbox.hrflow.put_profile(
            workflow.source_key, person(key, f"Person {index}", email_of(index))
        )
    return keys


def run_events_concurrently(workflow: Workflow, keys: list[str]) -> list[Any]:
    """``RUNNERS`` threads, each running the events of its share of the profiles one after another."""

    def runner(share: list[str]) -> list[Any]:
        return [
            workflow.run(profile_key=key, incremental=False, options=RunOptions(concurrency=1))
            for key in share
        ]

    with ThreadPoolExecutor(max_workers=RUNNERS) as pool:
        shares = [keys[start::RUNNERS] for start in range(RUNNERS)]
        return [result for results in pool.map(runner, shares) for result in results]


def assert_nothing_lost(workflow: Workflow, keys: list[str], results: list[Any]) -> None:
    odd = [result for result in results if len(result.delivered) != 1]
    assert not odd, [(r.status.value, r.reason.value, r.detail, r.unconfirmed, r.failed) for r in odd]
    assert sorted(accepted_by_email(workflow.sandbox).values()) == [1] * PROFILES
    ledger = workflow.state()["delivered"]
    assert sorted(entry.split("|")[0] for entry in ledger) == sorted(keys), "a ledger entry was lost"
    assert workflow.state()["pending"] == {}
    for result in results:
        [(key, transaction_id)] = result.delivered.items()
        assert ledger[f"{key}|J-1"]["transaction_id"] == transaction_id

    replays = run_events_concurrently(workflow, keys)
    assert sum(result.events["skipped_already_delivered"] for result in replays) == PROFILES
    assert len(workflow.sandbox.hub.accepted()) == PROFILES


def test_concurrent_event_runs_with_the_json_store(workflow: Workflow) -> None:
    keys = put_profiles(workflow)
    workflow.sandbox.hub.set_faults(latency_ms=5)
    assert_nothing_lost(workflow, keys, run_events_concurrently(workflow, keys))


def test_concurrent_event_runs_with_blind_variables(
    workflow: Workflow, monkeypatch: pytest.MonkeyPatch
) -> None:
    import airflow.sdk

    variables = BlindVariables()
    monkeypatch.setattr(airflow.sdk, "Variable", variables)
    workflow.store = VariableStateStore()
    keys = put_profiles(workflow)
    workflow.sandbox.hub.set_faults(latency_ms=5)

    results = run_events_concurrently(workflow, keys)

    document = json.loads(variables.values[VariableStateStore.key(workflow.workflow_id)])
    assert document["version"] == 1 and document["workflow_id"] == workflow.workflow_id
    repairs = variables.writes - 2 * PROFILES  # an event run writes twice: pending mark, outcome
    print(f"\nblind Variables: {PROFILES} event runs on {RUNNERS} threads, {repairs} writes repeated")
    assert repairs > 0, "the runs never collided: the test proves nothing"
    assert_nothing_lost(workflow, keys, results)


@pytest.mark.slow
def test_concurrent_event_runs_in_processes_with_the_json_store(workflow: Workflow, tmp_path: Path) -> None:
    """Four worker processes, each running its share of the events through the public entry point."""
    keys = put_profiles(workflow)
    workflow.sandbox.hub.set_faults(latency_ms=5)
    sandbox = workflow.sandbox
    children = []
    for number in range(4):
        config = tmp_path / f"worker-{number}.json"
        config.write_text(
            json.dumps(
                {
                    **sandbox.describe(),
                    "source_key": workflow.source_key,
                    "workflow_id": workflow.workflow_id,
                    "state_dir": str(workflow.state_dir),
                    "concurrency": 1,
                    "profile_keys": keys[number::4],
                }
            ),
            encoding="utf-8",
        )
        children.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.delivery.crash_child",
                    str(config),
                    str(tmp_path / f"r{number}.json"),
                ],
                cwd=REPO,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        )
    for child in children:
        _, errors = child.communicate(timeout=120)
        assert child.returncode == 0, errors.decode(errors="replace")[-2000:]
    results = [
        summary for number in range(4) for summary in json.loads((tmp_path / f"r{number}.json").read_text())
    ]
    assert sum(len(result["delivered"]) for result in results) == PROFILES

    ledger = workflow.state()["delivered"]
    assert sorted(entry.split("|")[0] for entry in ledger) == sorted(keys), "a ledger entry was lost"
    assert sorted(accepted_by_email(sandbox).values()) == [1] * PROFILES

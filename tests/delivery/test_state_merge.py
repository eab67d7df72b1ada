"""Two runs of one workflow that overlap: each write applies only the writer's own changes.

An entry that a run merely loaded must not come back after a concurrent run removed it: a retry
entry of a profile since delivered would be retried (and counted) by every poll; a pending mark
since settled would report a profile as unconfirmed for ever.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_provider_broadbean.state import JsonFileStateStore, StateStore, WorkflowState
from tests.delivery.helpers import BlindVariables


@pytest.fixture(params=["json file", "blind variables"])
def store(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StateStore:
    if request.param == "json file":
        return JsonFileStateStore(tmp_path)
    import airflow.sdk

    from airflow_provider_broadbean.state import VariableStateStore

    monkeypatch.setattr(airflow.sdk, "Variable", BlindVariables(round_trip=0))
    return VariableStateStore()


def state(store: StateStore) -> WorkflowState:
    loaded = WorkflowState(store, "wf", settle_seconds=0)
    loaded.load()
    return loaded


def test_entries_removed_by_a_concurrent_run_stay_removed(store: StateStore) -> None:
    earlier = state(store)
    earlier.record_retry("k-retry", "HTTP 503", "J")
    earlier.mark_pending(["k-pending"], "J", "run-0")
    earlier.save()

    first, second = state(store), state(store)
    second.record_delivery("k-retry", "J", "TX-1")  # delivered: no retry any more
    second.mark_pending(["k-pending"], "J", "run-2")  # resent as asked, and refused for good
    second.clear_pending("k-pending", "J")
    second.save(confirm=True)
    first.record_delivery("other", "J", "TX-2")
    first.save(confirm=True)

    final = state(store)
    assert final.retry_keys("J") == []
    assert final.pending_keys("J") == []
    assert {key for key in ("k-retry", "other") if final.delivered(key, "J")} == {"k-retry", "other"}


def test_a_cursor_is_kept_by_runs_that_did_not_move_it(store: StateStore) -> None:
    event_run, poll_run = state(store), state(store)
    poll_run.set_cursor("updated_at", "2026-05-04T10:05:00+00:00")
    poll_run.save()
    event_run.record_delivery("k", "J", "TX-1")
    event_run.save(confirm=True)
    assert state(store).cursor == "2026-05-04T10:05:00+00:00"

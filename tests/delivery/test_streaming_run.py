"""A poll that sends while it reads: failures in the middle of the stream, and what a run leaves.

A poll sends the profiles of a listing page while it reads the next, with sender threads and a
state writer of its own. These cases stop that stream part-way: a page that cannot be read after
earlier pages were sent, a state store that stops writing. Nothing may be sent twice, nothing
left pending that never left, and no thread of the run may outlive it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airflow_provider_broadbean.pipeline import RunOptions
from airflow_provider_broadbean.state import JsonFileStateStore, StateError
from tests.delivery.helpers import Workflow, accepted_by_email, email_of, person, profile_key, threads_of_runs

PROFILES = 6


def _put_profiles(workflow: Workflow) -> list[str]:
    keys = [profile_key(index) for index in range(1, PROFILES + 1)]
    for index, key in enumerate(keys, start=1):
        stamp = f"2026-05-04T10:0{index}:00+0000"
        workflow.sandbox.hrflow.put_profile(
            workflow.source_key,
            person(key, f"Person {index}", email_of(index), created_at=stamp, updated_at=stamp),
        )
    return keys


def test_a_page_that_cannot_be_read_after_earlier_pages_were_sent(workflow: Workflow) -> None:
    _put_profiles(workflow)
    # Pages of two, newest first: page 1 (profiles 6 and 5) is read, page 2 is refused.
    workflow.sandbox.hrflow.enqueue({"action": "pass"}, {"status": 401})
    options = RunOptions(concurrency=2, page_size=2)

    first = workflow.run(options=options)

    # What page 1 had sent when the refusal came is recorded; what it had only prepared is dropped
    # (and left unmarked) for the next run.
    assert first.events["read_failure"] == 1
    assert "listing page 2" in (first.detail or "") and "401" in (first.detail or "")
    page_1 = {profile_key(5), profile_key(6)}
    assert set(first.delivered) <= page_1
    state = workflow.state()
    assert workflow.delivered_keys() == set(first.delivered)
    assert state["pending"] == {}
    assert state["cursor"] is None, "a poll that did not finish its walk must not move the cursor"
    assert set(accepted_by_email(workflow.sandbox)) == {email_of(int(key, 16)) for key in first.delivered}
    assert threads_of_runs(wait=2) == []  # a run stopped by a page read

    second = workflow.run(options=options)
    assert set(second.delivered) == {profile_key(index) for index in range(1, PROFILES + 1)} - set(
        first.delivered
    )
    assert second.events["skipped_already_delivered"] == len(first.delivered)
    assert accepted_by_email(workflow.sandbox) == {email_of(index): 1 for index in range(1, PROFILES + 1)}


class _StopsWritingAfter(JsonFileStateStore):
    """A JSON store whose writes fail after the first ``good`` ones (a full disk, say)."""

    def __init__(self, directory: Path, good: int) -> None:
        super().__init__(directory)
        self.good = good
        self.writes = 0

    def save(self, workflow_id: str, document: dict[str, Any]) -> None:
        self.writes += 1
        if self.writes > self.good:
            raise StateError(f"cannot write the state of workflow {workflow_id!r}: disk full")
        super().save(workflow_id, document)


def test_a_state_store_that_stops_writing_ends_the_run_without_a_send_it_did_not_mark(
    workflow: Workflow, tmp_path: Path
) -> None:
    _put_profiles(workflow)
    workflow.sandbox.hub.set_faults(latency_ms=50)
    store = _StopsWritingAfter(tmp_path / "failing", good=1)
    workflow.store = store

    result = workflow.run(options=RunOptions(concurrency=2, page_size=2))

    assert result.status.value == "fatal"
    assert result.reason.value == "state_failure"
    assert "disk full" in (result.detail or "")
    marked = {entry.split("|", 1)[0] for entry in (store.load(workflow.workflow_id) or {})["pending"]}
    at_hub = set(accepted_by_email(workflow.sandbox))
    # Only what the one good write marked can have left; each at most once.
    assert at_hub <= {email_of(int(key, 16)) for key in marked}
    assert all(count == 1 for count in accepted_by_email(workflow.sandbox).values())
    assert threads_of_runs(wait=2) == []  # a stopped run


def test_no_thread_outlives_a_run_at_any_concurrency(workflow: Workflow) -> None:
    _put_profiles(workflow)
    for concurrency in (1, 3, 64):
        workflow.workflow_id = f"threads-{concurrency}"
        result = workflow.run(options=RunOptions(concurrency=concurrency, page_size=4))
        assert len(result.delivered) == PROFILES
        assert threads_of_runs() == []

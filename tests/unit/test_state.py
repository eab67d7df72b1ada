"""The workflow state document and its JSON file store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_provider_broadbean.state import JsonFileStateStore, PollTargetError, StateError, WorkflowState


def test_round_trip_and_readable_document(tmp_path: Path) -> None:
    store = JsonFileStateStore(tmp_path)
    state = WorkflowState(store, "wf/1")
    state.load()
    state.mark_pending(["p1", "p2"], "J-1", "run-a")
    state.record_delivery("p1", "J-1", "TX-1")
    state.set_cursor("updated_at", "2026-05-04T10:05:00+00:00")
    state.save()

    document = json.loads((tmp_path / "wf_1.json").read_text())
    assert document["version"] == 1
    assert document["delivered"]["p1|J-1"]["transaction_id"] == "TX-1"
    assert document["delivered"]["p1|J-1"]["at"].endswith("+00:00")
    assert set(document["pending"]) == {"p2|J-1"}
    assert document["cursor"] == {"sort_by": "updated_at", "value": "2026-05-04T10:05:00+00:00"}

    again = WorkflowState(store, "wf/1")
    again.load()
    assert again.delivered("p1", "J-1") == document["delivered"]["p1|J-1"]
    assert again.delivered("p1", "J-2") is None
    assert again.pending_keys("J-1") == ["p2"]


def test_concurrent_runs_keep_each_others_deliveries(tmp_path: Path) -> None:
    store = JsonFileStateStore(tmp_path)
    first, second = WorkflowState(store, "wf"), WorkflowState(store, "wf")
    first.load()
    second.load()
    first.record_delivery("a", "J", "TX-a")
    first.save()
    second.mark_pending(["b"], "J", "run-2")
    second.record_delivery("b", "J", "TX-b")
    second.save()

    final = WorkflowState(store, "wf")
    final.load()
    assert final.delivered("a", "J")["transaction_id"] == "TX-a"  # type: ignore[index]
    assert final.delivered("b", "J")["transaction_id"] == "TX-b"  # type: ignore[index]
    assert final.pending_keys("J") == []


def test_ledger_is_bounded_oldest_out(tmp_path: Path) -> None:
    state = WorkflowState(JsonFileStateStore(tmp_path), "wf", ledger_size=3)
    state.load()
    for index in range(5):
        state.doc["delivered"][f"p{index}|J"] = {
            "transaction_id": f"TX{index}",
            "at": f"2026-01-0{index + 1}",
        }
    state.save()
    assert sorted(state.doc["delivered"]) == ["p2|J", "p3|J", "p4|J"]


def test_unreadable_or_foreign_state_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "wf.json").write_text("{not json")
    with pytest.raises(StateError, match="cannot read the state of workflow 'wf'"):
        WorkflowState(JsonFileStateStore(tmp_path), "wf").load()
    (tmp_path / "wf.json").write_text(json.dumps({"version": 99}))
    with pytest.raises(StateError, match="version 99"):
        WorkflowState(JsonFileStateStore(tmp_path), "wf").load()


def test_a_run_that_did_not_write_last_reads_the_file_back(tmp_path: Path) -> None:
    """Two runs of one workflow in one process share the file: each write of one run must merge
    what the other wrote since, even when the other wrote twice (and the file system reuses the
    freed inode of an earlier version)."""
    store = JsonFileStateStore(tmp_path)
    first, second = WorkflowState(store, "shared"), WorkflowState(store, "shared")
    first.load()
    second.load()
    first.record_delivery("a" * 40, "J", "TX-A")
    first.save()
    second.record_delivery("b" * 40, "J", "TX-B1")
    second.save()
    second.record_delivery("c" * 40, "J", "TX-B2")
    second.save()
    first.record_delivery("d" * 40, "J", "TX-A2")
    first.save()

    delivered = (store.load("shared") or {})["delivered"]
    assert {key.split("|")[0][0] for key in delivered} == {"a", "b", "c", "d"}


def test_the_held_file_tells_whether_anyone_wrote_since(tmp_path: Path) -> None:
    store = JsonFileStateStore(tmp_path)
    store.save("wf", {"version": 1})
    held = store.hold("wf")
    assert held is not None
    try:
        assert store.holds_current("wf", held)
        store.save("wf", {"version": 1})  # same size, same second: only the file's identity differs
        assert not store.holds_current("wf", held)
    finally:
        held.close()


def test_the_ledger_keeps_past_its_size_what_a_poll_may_list_again(tmp_path: Path) -> None:
    state = WorkflowState(JsonFileStateStore(tmp_path), "wf", ledger_size=2)
    state.load()
    state.bind_poll("source-1", "J")
    for key, updated in (("old-1", "2026-05-01"), ("old-2", "2026-05-02"), ("near-1", "2026-05-09")):
        state.record_delivery(key, "J", f"TX-{key}", updated_at=f"{updated}T10:00:00+00:00")
    state.record_delivery("near-2", "J", "TX-near-2", updated_at="2026-05-10T09:00:00+00:00")
    state.record_delivery("unknown", "J", "TX-unknown")
    state.set_cursor("updated_at", "2026-05-10T10:00:00+00:00")  # relisted from 2026-05-09T10:00
    state.save()

    # Three over the size: the oldest that a poll cannot list again go (one without a known update
    # time among them); the two updated within a day of the cursor stay.
    assert sorted(key.split("|")[0] for key in state.doc["delivered"]) == ["near-1", "near-2"]


def test_a_workflow_that_is_not_polled_keeps_the_newest_deliveries(tmp_path: Path) -> None:
    state = WorkflowState(JsonFileStateStore(tmp_path), "wf", ledger_size=2)
    state.load()
    for key in ("a", "b", "c"):
        state.record_delivery(key, "J", f"TX-{key}", updated_at="2026-05-10T09:00:00+00:00")
        state.doc["delivered"][f"{key}|J"]["at"] = f"2026-05-10T09:00:0{'abc'.index(key)}+00:00"
    state.save()
    assert sorted(key.split("|")[0] for key in state.doc["delivered"]) == ["b", "c"]


def test_a_workflow_polls_one_source_for_one_job(tmp_path: Path) -> None:
    store = JsonFileStateStore(tmp_path)
    first = WorkflowState(store, "wf")
    first.load()
    first.bind_poll("source-1", "J-1")
    first.save()

    again = WorkflowState(store, "wf")
    again.load()
    again.bind_poll("source-1", "J-1")
    for source, job in (("source-1", "J-2"), ("source-2", "J-1")):
        with pytest.raises(PollTargetError) as refused:
            again.bind_poll(source, job)
        assert str(refused.value) == (
            f"workflow 'wf' polls source 'source-1' for job 'J-1'; a poll of source {source!r} for job "
            f"{job!r} needs a workflow_id of its own"
        )


def test_two_first_polls_for_different_targets_keep_the_first_binding_and_its_cursor(tmp_path: Path) -> None:
    store = JsonFileStateStore(tmp_path)
    first, second = WorkflowState(store, "wf"), WorkflowState(store, "wf")
    first.load()
    second.load()
    first.bind_poll("source-1", "J-1")
    second.bind_poll("source-2", "J-2")  # both read an unbound document
    first.set_cursor("updated_at", "2026-05-01T00:00:00+00:00")
    first.save()
    second.record_delivery("k", "J-2", "TX-k")
    second.set_cursor("updated_at", "2026-06-01T00:00:00+00:00")
    second.save()

    document = json.loads((tmp_path / "wf.json").read_text())
    assert document["poll"] == {"source_key": "source-1", "job_id": "J-1"}
    assert document["cursor"]["value"] == "2026-05-01T00:00:00+00:00"
    assert list(document["delivered"]) == ["k|J-2"]


def test_the_ledger_never_holds_more_than_five_times_its_size(tmp_path: Path) -> None:
    """A bound workflow whose cursor stopped moving while events keep delivering: the hard cap."""
    state = WorkflowState(JsonFileStateStore(tmp_path), "wf", ledger_size=10)
    state.load()
    state.bind_poll("source-1", "J")
    state.set_cursor("updated_at", "2026-05-01T00:00:00+00:00")
    for index in range(80):
        state.record_delivery(f"p{index:02d}", "J", f"TX-{index}", updated_at="2026-06-01T00:00:00+00:00")
        state.doc["delivered"][f"p{index:02d}|J"]["at"] = f"2026-06-01T00:{index:02d}:00+00:00"
    state.save()
    assert sorted(state.doc["delivered"]) == [f"p{index:02d}|J" for index in range(30, 80)]

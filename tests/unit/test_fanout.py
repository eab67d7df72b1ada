"""Planning a fan-out, the mapped tasks' state shards, and merging them, on the JSON file store.

The listing is given as HrFlow's pages of ``{key, created_at, updated_at}``, newest first; the
mapped tasks' outcomes are recorded on their shards with the state's own methods.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_broadbean.fanout import (
    PLANNED,
    BatchPlan,
    ShardError,
    commit_batches,
    open_shard,
    plan_batches,
    shard_id,
)
from airflow_provider_broadbean.state import JsonFileStateStore, PollTargetError, StateError, WorkflowState

WORKFLOW = "fan"
JOB = "J-1"
SOURCE_KEY = "source-1"
STARTED = datetime(2026, 5, 4, 12, 0, tzinfo=timezone.utc)


def key_of(index: int) -> str:
    return f"{index:040x}"


def stamp(minute: int) -> str:
    """HrFlow's form of 4 May 2026, 09:00 plus ``minute`` minutes."""
    moment = datetime(2026, 5, 4, 9, 0, tzinfo=timezone.utc) + timedelta(minutes=minute)
    return moment.strftime("%Y-%m-%dT%H:%M:%S+0000")


def iso(minute: int) -> str:
    return (datetime(2026, 5, 4, 9, 0, tzinfo=timezone.utc) + timedelta(minutes=minute)).isoformat()


def listing(count: int, page_size: int = 10) -> list[list[dict[str, Any]]]:
    """Profiles 0 to ``count - 1``, profile i updated at minute i, in pages newest first."""
    profiles = [
        {"key": key_of(index), "created_at": stamp(index), "updated_at": stamp(index)}
        for index in reversed(range(count))
    ]
    return [profiles[start : start + page_size] for start in range(0, len(profiles), page_size)]


def listing_at(minutes: dict[int, int], page_size: int = 10) -> list[list[dict[str, Any]]]:
    """Profile i updated at minute ``minutes[i]``, in pages newest first."""
    profiles = [
        {"key": key_of(index), "created_at": stamp(0), "updated_at": stamp(minute)}
        for index, minute in sorted(minutes.items(), key=lambda item: (item[1], item[0]), reverse=True)
    ]
    return [profiles[start : start + page_size] for start in range(0, len(profiles), page_size)]


def deliver(state: WorkflowState, keys: list[str]) -> None:
    """Record ``keys`` as delivered on ``state`` and write it, as a mapped task does."""
    for key in keys:
        state.record_delivery(key, JOB, f"TX-{key[-2:]}")
    state.save()


class UndeletableStore(JsonFileStateStore):
    """A JSON file store whose deletes fail, as a Variable store does when the database refuses."""

    def delete(self, workflow_id: str) -> None:
        raise StateError(f"cannot delete the state of workflow {workflow_id!r}: refused")


def flat(batches: list[list[str]]) -> list[str]:
    return [key for batch in batches for key in batch]


@pytest.fixture
def store(tmp_path: Path) -> JsonFileStateStore:
    return JsonFileStateStore(tmp_path)


def workflow(store: JsonFileStateStore) -> WorkflowState:
    return WorkflowState(store, WORKFLOW, settle_seconds=0)


def stored(store: JsonFileStateStore, name: str = WORKFLOW) -> dict[str, Any]:
    document = store.load(name)
    assert document is not None
    return document


def plan(
    store: JsonFileStateStore, pages: list[list[dict[str, Any]]], run_id: str = "run-1", **options: Any
) -> BatchPlan:
    """Plan with the workflow's state in ``store``, as of :data:`STARTED`."""
    return plan_batches(
        workflow(store),
        store,
        pages,
        source_key=options.pop("source_key", SOURCE_KEY),
        job_id=options.pop("job_id", JOB),
        run_id=run_id,
        started=STARTED,
        **options,
    )


def shard(
    store: JsonFileStateStore, batch: list[str], map_index: int = 0, run_id: str = "run-1"
) -> WorkflowState:
    """The state of a mapped task of ``run_id``, loaded."""
    state = open_shard(store, WORKFLOW, run_id=run_id, map_index=map_index, profile_keys=batch, job_id=JOB)
    state.load()
    return state


def test_new_profiles_go_in_batches_least_recently_updated_first(store: JsonFileStateStore) -> None:
    result = plan(store, listing(25), batch_size=10)

    assert [len(batch) for batch in result.batches] == [10, 10, 5]
    assert flat(result.batches) == [key_of(index) for index in range(25)]
    assert result.cursor == iso(24) and result.previous_cursor is None
    assert result.listed == 25 and result.deferred == 0
    assert result.shards == [shard_id(WORKFLOW, "run-1", index) for index in range(3)]
    announced = stored(store)["shards"]
    assert {name: entry["state"] for name, entry in announced.items()} == dict.fromkeys(
        result.shards, "planned"
    )
    assert [announced[name]["map_index"] for name in result.shards] == [0, 1, 2]
    assert stored(store)["cursor"] is None  # only the commit moves it


def test_shard_ids_are_short_and_distinct_per_run_and_index() -> None:
    long_run = "scheduled__2026-05-04T09:15:00+00:00" * 8
    assert shard_id("wf", long_run, 3).startswith("wf__shard__") and len(shard_id("wf", long_run, 3)) < 40
    assert len({shard_id("wf", run, index) for run in ("a", "b") for index in (0, 1)}) == 4


def test_the_ledger_drops_delivered_and_pending_and_retries_go_first(store: JsonFileStateStore) -> None:
    earlier = workflow(store)
    earlier.load()
    earlier.record_delivery(key_of(3), JOB, "TX-3")
    earlier.mark_pending([key_of(4)], JOB, "run-0")
    earlier.record_retry("f" * 40, "HTTP 503", JOB)  # an older failure, below any listing
    earlier.record_retry(key_of(5), "HTTP 503", JOB)  # listed again: planned once, as a retry
    earlier.record_retry(key_of(3), "HTTP 503", JOB)  # delivered since: nothing to retry
    earlier.record_delivery(key_of(6), "OTHER-JOB", "TX-6")  # another job's delivery does not count
    earlier.save()

    result = plan(store, listing(8), batch_size=3)

    # Retries first (in the state's order: the stores sort keys), then the listing, oldest first.
    assert flat(result.batches) == [
        key_of(5),
        "f" * 40,
        key_of(0),
        key_of(1),
        key_of(2),
        key_of(6),
        key_of(7),
    ]
    assert result.retried == 2
    assert result.skipped_already_delivered == 1
    assert result.unconfirmed == [key_of(4)]
    assert result.summary()["skipped_unconfirmed"] == 1
    retry = stored(store)["retry"]
    # Every planned profile is on the retry list until its batch settles it; the older entries keep
    # their error, the one whose profile was delivered since is gone.
    assert sorted(retry) == sorted(flat(result.batches))
    assert retry[key_of(5)]["error"] == "HTTP 503" and retry[key_of(0)]["error"] == PLANNED


def test_the_listing_stops_below_the_cursor_minus_the_overlap(store: JsonFileStateStore) -> None:
    earlier = workflow(store)
    earlier.load()
    earlier.set_cursor("updated_at", iso(30))
    earlier.save()

    result = plan(store, listing(40), batch_size=100, overlap=timedelta(minutes=5))

    assert flat(result.batches) == [key_of(index) for index in range(25, 40)]
    assert result.cursor == iso(39) and result.previous_cursor == iso(30)


def test_max_batches_stops_the_cursor_at_the_newest_profile_planned(store: JsonFileStateStore) -> None:
    first = plan(store, listing(25), batch_size=10, max_batches=2)

    assert flat(first.batches) == [key_of(index) for index in range(20)]
    assert first.deferred == 5
    assert first.cursor == iso(19)

    for index, batch in enumerate(first.batches):
        sent = shard(store, batch, index)
        for key in batch:
            sent.record_delivery(key, JOB, f"TX-{key[-2:]}")
        sent.save()
    commit_batches(workflow(store), store, cursor=first.cursor)

    second = plan(store, listing(25), run_id="run-2", batch_size=10, max_batches=2)

    assert flat(second.batches) == [key_of(index) for index in range(20, 25)]
    assert second.skipped_already_delivered == 11  # minutes 9 to 19, within the 10-minute overlap
    assert second.deferred == 0 and second.cursor == iso(24)


def test_when_retries_fill_every_batch_the_cursor_stays(store: JsonFileStateStore) -> None:
    earlier = workflow(store)
    earlier.load()
    for index in range(100, 104):
        earlier.record_retry(key_of(index), "HTTP 503", JOB)
    earlier.save()

    result = plan(store, listing(5), batch_size=2, max_batches=2)

    assert flat(result.batches) == [key_of(index) for index in range(100, 104)]
    assert result.deferred == 5 and result.cursor is None


def test_the_cursor_never_passes_the_start_of_the_listing(store: JsonFileStateStore) -> None:
    pages = listing(3)
    pages[0].insert(0, {"key": "e" * 40, "created_at": stamp(0), "updated_at": "2027-01-01T00:00:00+0000"})

    result = plan(store, pages, batch_size=10)

    assert result.cursor == STARTED.isoformat()
    assert len(flat(result.batches)) == 4


def test_a_dry_run_writes_nothing(store: JsonFileStateStore) -> None:
    result = plan(store, listing(5), batch_size=2, persist=False)

    assert len(result.batches) == 3
    assert store.load(WORKFLOW) is None


def test_a_shard_starts_with_its_batch_entries_and_a_retry_sees_the_earlier_try(
    store: JsonFileStateStore,
) -> None:
    earlier = workflow(store)
    earlier.load()
    earlier.record_retry(key_of(1), "HTTP 503", JOB)
    earlier.record_delivery(key_of(9), JOB, "TX-9")  # not in this batch: not copied
    earlier.save()
    [batch] = plan(store, listing(3), batch_size=10).batches
    assert batch == [key_of(1), key_of(0), key_of(2)]

    first_try = shard(store, batch)
    assert first_try.retrying(key_of(1), JOB) and first_try.delivered(key_of(9), JOB) is None
    document = stored(store, first_try.workflow_id)
    assert document["parent"] == WORKFLOW and document["run"] == "run-1" and document["keys"] == batch
    first_try.mark_pending([key_of(1), key_of(0)], JOB, "try-1")
    first_try.record_delivery(key_of(0), JOB, "TX-0")
    first_try.save()  # the worker dies with key 1 in flight

    second_try = shard(store, batch)
    assert (second_try.delivered(key_of(0), JOB) or {}).get("transaction_id") == "TX-0"
    assert second_try.pending(key_of(1), JOB) is not None
    assert list(stored(store)["delivered"]) == [f"{key_of(9)}|{JOB}"]  # a batch writes only its shard


def test_a_shard_the_planning_did_not_announce_is_refused(store: JsonFileStateStore) -> None:
    [batch] = plan(store, listing(2), batch_size=10).batches
    with pytest.raises(ShardError, match="not one a planning step announced"):
        open_shard(store, WORKFLOW, run_id="other-run", map_index=0, profile_keys=batch, job_id=JOB)
    shard(store, batch)
    with pytest.raises(ShardError, match="does not hold this batch"):
        shard(store, batch[:1])

    commit_batches(workflow(store), store, cursor=None)
    with pytest.raises(ShardError):  # merged and deleted: a task cleared afterwards must not write it
        open_shard(store, WORKFLOW, run_id="run-1", map_index=0, profile_keys=batch, job_id=JOB)


def test_commit_merges_the_shards_sets_the_cursor_and_deletes_them(store: JsonFileStateStore) -> None:
    earlier = workflow(store)
    earlier.load()
    earlier.record_retry(key_of(0), "HTTP 503", JOB)  # to be refused for good by the hub this time
    earlier.record_retry(key_of(5), "HTTP 503", JOB)  # to be delivered
    earlier.save()
    result = plan(store, listing(6), batch_size=3)
    assert result.batches == [[key_of(0), key_of(5), key_of(1)], [key_of(2), key_of(3), key_of(4)]]

    first = shard(store, result.batches[0], 0)
    first.clear_retry(key_of(0), JOB)  # the hub refused the candidate: no retry
    first.record_delivery(key_of(5), JOB, "TX-5")
    first.record_retry(key_of(1), "HTTP 503", JOB)  # failed for now
    first.save()
    second = shard(store, result.batches[1], 1)
    second.mark_pending([key_of(2), key_of(3), key_of(4)], JOB, "try-1")
    second.record_delivery(key_of(2), JOB, "TX-2")
    second.record_delivery(key_of(3), JOB, "TX-3")
    second.clear_retry(key_of(4), JOB)  # sent, reply lost: the pending mark speaks for it
    second.save()

    outcome = commit_batches(workflow(store), store, cursor=result.cursor)

    assert outcome.merged_shards == result.shards and outcome.deliveries_merged == 3
    assert sorted(outcome.deleted_shards) == sorted(result.shards)
    document = stored(store)
    assert {key.split("|")[0]: entry["transaction_id"] for key, entry in document["delivered"].items()} == {
        key_of(5): "TX-5",
        key_of(2): "TX-2",
        key_of(3): "TX-3",
    }
    assert list(document["pending"]) == [f"{key_of(4)}|{JOB}"]
    assert list(document["retry"]) == [key_of(1)]
    assert document["cursor"] == {"sort_by": "updated_at", "value": iso(5)}
    assert document["shards"] == {}
    assert all(store.load(name) is None for name in result.shards)


def test_the_next_planning_merges_the_shards_of_a_run_without_commit(store: JsonFileStateStore) -> None:
    earlier = workflow(store)
    earlier.load()
    earlier.record_retry(key_of(7), "HTTP 503", JOB)  # in the batch whose task never ran: kept
    earlier.save()
    failed_run = plan(store, listing(6), batch_size=4)
    assert failed_run.batches == [
        [key_of(7), key_of(0), key_of(1), key_of(2)],
        [key_of(3), key_of(4), key_of(5)],
    ]
    sent = shard(store, failed_run.batches[1], 1)
    for index in (3, 4, 5):
        sent.record_delivery(key_of(index), JOB, f"TX-{index}")
    sent.save()  # batch 0 failed before writing anything; no commit

    next_run = plan(store, listing(6), run_id="run-2", batch_size=4)

    assert next_run.merged_shards == failed_run.shards
    # Batch 0 left its profiles on the retry list (the planning step put them there): they come
    # back as retries, in the state's order.
    assert flat(next_run.batches) == [key_of(0), key_of(1), key_of(2), key_of(7)]
    assert next_run.retried == 4 and next_run.skipped_already_delivered == 3
    document = stored(store)
    assert sorted(key.split("|")[0] for key in document["delivered"]) == [key_of(3), key_of(4), key_of(5)]
    assert sorted(document["retry"]) == [key_of(0), key_of(1), key_of(2), key_of(7)]
    # The merged shards are deleted, and forgotten, before this run's shards are announced.
    assert {name: entry["state"] for name, entry in document["shards"].items()} == dict.fromkeys(
        next_run.shards, "planned"
    )
    assert all(store.load(name) is None for name in failed_run.shards)

    commit_batches(workflow(store), store, cursor=next_run.cursor)
    assert stored(store)["shards"] == {}


def test_a_document_written_before_shards_existed_still_reads(
    store: JsonFileStateStore, tmp_path: Path
) -> None:
    (tmp_path / f"{WORKFLOW}.json").write_text(
        json.dumps(
            {
                "version": 1,
                "workflow_id": WORKFLOW,
                "cursor": {"sort_by": "updated_at", "value": iso(1)},
                "delivered": {
                    f"{key_of(2)}|{JOB}": {"transaction_id": "TX-2", "at": "2026-05-04T09:30:00+00:00"}
                },
                "pending": {},
                "retry": {},
            }
        )
    )

    result = plan(store, listing(4), batch_size=10)

    assert flat(result.batches) == [key_of(0), key_of(1), key_of(3)]
    assert stored(store)["version"] == 1 and len(stored(store)["shards"]) == 1


def test_a_cleared_run_plans_from_what_its_first_try_delivered(store: JsonFileStateStore) -> None:
    first = plan(store, listing(25), batch_size=10)
    deliver(shard(store, first.batches[0], 0), first.batches[0])
    shard(store, first.batches[1], 1)  # its task fails before sending anything
    deliver(shard(store, first.batches[2], 2), first.batches[2])
    # No commit. Before the DAG run is cleared, batch 1's profiles and profile 0 are edited and ten
    # new profiles arrive: the new batches differ from the first ones under the same map indexes.
    minutes = {index: index for index in range(25)}
    minutes.update({index: 30 + index for index in range(10, 20)})
    minutes.update({index: 35 + index for index in range(25, 35)})
    minutes[0] = 80

    again = plan(store, listing_at(minutes), batch_size=10)  # the same DAG run id: run-1

    assert again.merged_shards == first.shards
    assert again.batches == [
        [key_of(index) for index in range(10, 20)],  # still on the retry list: retried first
        [key_of(index) for index in range(25, 35)],
    ]
    assert again.skipped_already_delivered == 15
    assert again.shards == first.shards[:2]  # the same names, announced again
    assert store.load(first.shards[2]) is None
    document = stored(store)
    assert sorted(key.split("|")[0] for key in document["delivered"]) == sorted(
        first.batches[0] + first.batches[2]
    )
    assert {name: entry["state"] for name, entry in document["shards"].items()} == dict.fromkeys(
        again.shards, "planned"
    )
    for index, batch in enumerate(again.batches):
        # The earlier try's document is gone: each task starts a fresh shard of its new batch.
        fresh = shard(store, batch, index)
        assert all(fresh.delivered(key, JOB) is None and fresh.retrying(key, JOB) for key in batch)


def test_a_merge_is_written_before_its_shards_are_deleted(store: JsonFileStateStore, tmp_path: Path) -> None:
    first = plan(store, listing(25), batch_size=10)
    deliver(shard(store, first.batches[0], 0), first.batches[0])

    with pytest.raises(StateError, match="could not be deleted"):
        # A cleared run would announce the same shard names again: not while their documents stay.
        plan_batches(
            workflow(UndeletableStore(tmp_path)),
            UndeletableStore(tmp_path),
            listing(25),
            source_key=SOURCE_KEY,
            job_id=JOB,
            run_id="run-1",
            started=STARTED,
            batch_size=10,
        )

    document = stored(store)
    assert sorted(key.split("|")[0] for key in document["delivered"]) == first.batches[0]
    assert {entry["state"] for entry in document["shards"].values()} == {"merged"}
    assert store.load(first.shards[0]) is not None  # still there, and its deliveries are merged

    again = plan(store, listing(25), batch_size=10)

    assert flat(again.batches) == [key_of(index) for index in range(10, 25)]
    assert all(store.load(name) is None for name in first.shards[len(again.batches) :])
    assert shard(store, again.batches[0], 0).delivered(key_of(10), JOB) is None


def test_a_batch_that_failed_or_never_ran_is_retried_after_the_cursor_moved(
    store: JsonFileStateStore,
) -> None:
    first = plan(store, listing(30), batch_size=10)
    batch_0, batch_1, batch_2 = first.batches
    assert all(entry["error"] == PLANNED for entry in stored(store)["retry"].values())
    assert sorted(stored(store)["retry"]) == sorted(flat(first.batches))

    done = shard(store, batch_0, 0)
    done.clear_retry(batch_0[0], JOB)  # refused by the hub for good: an edit of the profile brings it back
    deliver(done, batch_0[1:])
    crashed = shard(store, batch_1, 1)  # its worker dies mid-way
    assert crashed.retry_entry(batch_1[5]) == stored(store)["retry"][batch_1[5]]
    crashed.mark_pending(batch_1[:4], JOB, "try-1")
    deliver(crashed, batch_1[:3])  # batch_1[3] in flight when it died; the rest never attempted
    # Batch 2's task never ran: it has no shard.

    outcome = commit_batches(workflow(store), store, cursor=first.cursor)

    assert outcome.cursor == iso(29) and outcome.deliveries_merged == 12
    document = stored(store)
    assert document["cursor"]["value"] == iso(29)
    assert sorted(document["retry"]) == sorted(batch_1[3:] + batch_2)
    assert list(document["pending"]) == [f"{batch_1[3]}|{JOB}"]
    assert document["shards"] == {}

    second = plan(store, listing(30), run_id="run-2", batch_size=10)

    # Neither what was delivered, nor the unconfirmed send, nor the refused profile goes again.
    assert sorted(flat(second.batches)) == sorted(batch_1[4:] + batch_2)
    assert second.retried == 16 and second.unconfirmed == [batch_1[3]]
    assert second.cursor is None  # nothing newer than the cursor was listed


def test_a_commit_never_moves_the_cursor_back(store: JsonFileStateStore) -> None:
    earlier = workflow(store)
    earlier.load()
    earlier.set_cursor("updated_at", iso(50))
    earlier.save()

    outcome = commit_batches(workflow(store), store, cursor=iso(20))  # an older run's commit, re-run

    assert outcome.cursor is None
    assert stored(store)["cursor"]["value"] == iso(50)


def test_a_plan_for_another_job_is_refused_and_leaves_the_retry_list_alone(store: JsonFileStateStore) -> None:
    """Planned profiles wait on the retry list for this job: another job must not take them."""
    first = plan(store, listing(5), batch_size=2)
    before = stored(store)

    with pytest.raises(PollTargetError, match="needs a workflow_id of its own"):
        plan(store, listing(5), run_id="run-2", job_id="J-2")

    assert stored(store) == before
    assert sorted(before["retry"]) == sorted(key for batch in first.batches for key in batch)


def test_a_plan_moves_the_update_time_of_a_delivered_profile_listed_again(store: JsonFileStateStore) -> None:
    first = plan(store, listing(3), batch_size=10)
    deliver(shard(store, first.batches[0], 0), first.batches[0])
    commit_batches(workflow(store), store, cursor=first.cursor)
    before = stored(store)["delivered"][f"{key_of(1)}|{JOB}"].get("updated_at")

    edited = [dict(entry) for entry in listing(3)[0]]
    for entry in edited:
        entry["updated_at"] = "2026-05-04T12:00:00+0000"
    plan(store, [edited], run_id="run-2")

    entry = stored(store)["delivered"][f"{key_of(1)}|{JOB}"]
    assert entry["updated_at"] == "2026-05-04T12:00:00+00:00" != before

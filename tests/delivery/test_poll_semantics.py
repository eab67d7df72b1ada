"""Poll mode sees every new profile once, and an edit never resends a delivered one."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from airflow_provider_broadbean.pipeline import RunOptions
from tests.delivery.helpers import FAST_RETRY, Workflow, accepted_by_email, email_of, person, profile_key


def put(workflow: Workflow, index: int, **stamps: str) -> str:
    key = profile_key(index)
    workflow.sandbox.hrflow.put_profile(
        workflow.source_key, person(key, f"Person {index}", email_of(index), **stamps)
    )
    return key


def hrflow_time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+0000")


def test_profile_imported_with_a_backdated_created_at_is_delivered(workflow: Workflow) -> None:
    put(workflow, 1)
    put(workflow, 2)
    assert len(workflow.run().delivered) == 2

    late = put(workflow, 3, created_at="2019-01-01T00:00:00+0000")  # updated_at: now
    run_2 = workflow.run()

    assert run_2.delivered == {late: workflow.sandbox.hub.accepted()[-1]["transaction_id"]}
    assert sorted(accepted_by_email(workflow.sandbox).values()) == [1, 1, 1]


def test_profile_stored_during_a_poll_is_delivered_by_the_next(workflow: Workflow) -> None:
    """A profile that lands after the listing passed over it (a logic stores it mid-run)."""
    for index in range(1, 5):
        put(workflow, index)
    stored_during_run: list[str] = []

    def store_one_more(profile: dict[str, Any]) -> dict[str, Any]:
        if not stored_during_run:
            stored_during_run.append(put(workflow, 9, created_at="2020-02-02T00:00:00+0000"))
        return profile

    run_1 = workflow.run(logics=[store_one_more], options=RunOptions(concurrency=1))
    assert len(run_1.delivered) == 4 and stored_during_run[0] not in run_1.delivered

    run_2 = workflow.run()
    assert list(run_2.delivered) == stored_during_run
    assert sorted(accepted_by_email(workflow.sandbox).values()) == [1] * 5


def test_indexing_lag_within_the_overlap_is_caught(workflow: Workflow) -> None:
    """A profile listed late with an ``updated_at`` a few minutes older than the cursor."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    put(workflow, 1, created_at=hrflow_time(now), updated_at=hrflow_time(now))
    workflow.run()
    assert workflow.state()["cursor"]["value"] == now.isoformat()

    lagging = put(workflow, 2, updated_at=hrflow_time(now - timedelta(minutes=9)))
    assert list(workflow.run().delivered) == [lagging]


def test_profiles_on_the_cursor_second_are_not_lost(workflow: Workflow) -> None:
    stamp = "2026-05-04T10:05:00+0000"
    first = [put(workflow, index, created_at=stamp, updated_at=stamp) for index in (1, 2)]
    assert sorted(workflow.run().delivered) == first

    same_second = [put(workflow, index, created_at=stamp, updated_at=stamp) for index in (3, 4)]
    run_2 = workflow.run()
    assert sorted(run_2.delivered) == same_second
    assert run_2.events["skipped_already_delivered"] == 2


def test_an_edited_profile_is_not_resent_for_the_same_job(workflow: Workflow) -> None:
    key = put(workflow, 1)
    first = workflow.run()
    assert list(first.delivered) == [key]

    workflow.sandbox.hrflow.put_profile(
        workflow.source_key, person(key, "Person One Edited", email_of(1), tags=[{"name": "x", "value": "y"}])
    )
    edited = workflow.run()
    assert edited.events["skipped_already_delivered"] == 1 and edited.delivered == {}
    assert accepted_by_email(workflow.sandbox) == {email_of(1): 1}

    other_job = Workflow(
        workflow.sandbox,
        workflow.state_dir,
        workflow_id="delivery-j2",
        push={**workflow.push, "job_id": "J-2"},
    )
    assert list(other_job.run().delivered) == [key]  # another job is another delivery


def test_a_workflow_polls_one_source_for_one_job(workflow: Workflow) -> None:
    """Its cursor and retry list belong to the first poll's source and job: another job is refused."""
    first_key = put(workflow, 1)
    workflow.sandbox.hub.enqueue(*[{"status": 503}] * FAST_RETRY.max_attempts)
    failed = workflow.run()
    assert list(failed.failed) == [first_key]
    assert list(workflow.state()["retry"]) == [first_key]

    other_job = Workflow(workflow.sandbox, workflow.state_dir, push={**workflow.push, "job_id": "J-2"})
    refused = other_job.run()
    assert refused.status == "fatal" and refused.reason == "bad_action_parameters"
    assert refused.detail == (
        f"workflow 'delivery' polls source {workflow.source_key!r} for job 'J-1'; a poll of source "
        f"{workflow.source_key!r} for job 'J-2' needs a workflow_id of its own"
    )
    assert workflow.sandbox.hub.accepted() == []
    assert list(workflow.state()["retry"]) == [first_key]  # still J-1's to retry

    assert list(workflow.run().delivered) == [first_key]
    assert accepted_by_email(workflow.sandbox) == {email_of(1): 1}


def test_a_dry_run_sends_and_records_nothing(workflow: Workflow) -> None:
    put(workflow, 1)
    dry = workflow.run(persist=False)
    assert dry.events["dry_run"] == 1
    assert workflow.sandbox.hub.accepted() == []
    assert workflow.state()["cursor"] is None and workflow.state()["delivered"] == {}
    assert len(workflow.run(options=RunOptions(concurrency=1)).delivered) == 1


def test_an_unconfirmed_send_is_reported_by_every_poll_until_resent(workflow: Workflow) -> None:
    old = put(workflow, 1, created_at="2026-05-04T06:00:00+0000", updated_at="2026-05-04T06:00:00+0000")
    workflow.sandbox.hub.enqueue({"action": "hang", "hang_s": 2})  # lost before the hub stored it
    workflow.read_timeout = 0.5
    assert workflow.run().unconfirmed == [old]
    put(workflow, 2, created_at="2026-05-04T10:00:00+0000", updated_at="2026-05-04T10:00:00+0000")

    later = workflow.run()  # the cursor is now hours past the unconfirmed profile

    assert later.unconfirmed == [old] and later.events["skipped_unconfirmed"] == 1
    assert len(later.delivered) == 1 and old not in later.delivered
    assert workflow.sandbox.hub.accepted()[0]["body"]["candidate"]["email"] == email_of(2)

    resent = workflow.run(options=RunOptions(resend_unconfirmed=True))
    assert list(resent.delivered) == [old]
    assert workflow.state()["pending"] == {}
    assert sorted(accepted_by_email(workflow.sandbox).values()) == [1, 1]


def test_the_ledger_keeps_the_newest_deliveries_only(workflow: Workflow) -> None:
    """The documented retention: past ``ledger_size`` deliveries, the oldest a poll cannot list again
    is forgotten, and an edit of that profile sends it again."""
    workflow.ledger_size = 2
    first, second, third = (
        put(workflow, index, created_at=stamp, updated_at=stamp)
        for index, stamp in (
            (1, "2026-05-01T09:00:00+0000"),
            (2, "2026-05-10T09:00:00+0000"),
            (3, "2026-05-20T09:00:00+0000"),
        )
    )
    assert len(workflow.run(options=RunOptions(concurrency=1)).delivered) == 3
    assert workflow.delivered_keys() == {second, third}

    workflow.sandbox.hrflow.put_profile(workflow.source_key, person(first, "Person 1 Edited", email_of(1)))
    assert list(workflow.run().delivered) == [first]
    assert accepted_by_email(workflow.sandbox)[email_of(1)] == 2


def test_the_ledger_keeps_every_delivery_a_poll_can_list_again(workflow: Workflow) -> None:
    """A run larger than the ledger: every profile updated near the cursor stays recorded, however
    many, so the next poll (which looks below the cursor) sends none of them again."""
    workflow.ledger_size = 5
    stamp = hrflow_time(datetime.now(timezone.utc) - timedelta(minutes=1))
    keys = [put(workflow, index, created_at=stamp, updated_at=stamp) for index in range(1, 13)]
    assert len(workflow.run(options=RunOptions(concurrency=4)).delivered) == 12
    assert workflow.delivered_keys() == set(keys)

    again = workflow.run()
    assert again.delivered == {} and again.events["skipped_already_delivered"] == 12
    assert sorted(accepted_by_email(workflow.sandbox).values()) == [1] * 12


def test_a_retried_profile_whose_resend_is_unconfirmed_leaves_the_retry_list(workflow: Workflow) -> None:
    key = put(workflow, 1, created_at="2026-05-04T06:00:00+0000", updated_at="2026-05-04T06:00:00+0000")
    workflow.sandbox.hub.enqueue(*[{"status": 503}] * FAST_RETRY.max_attempts)
    assert list(workflow.run().failed) == [key]
    assert list(workflow.state()["retry"]) == [key]

    workflow.sandbox.hub.enqueue({"action": "drop_after_commit"})
    assert workflow.run().unconfirmed == [key]
    assert workflow.state()["retry"] == {} and workflow.pending_keys() == {key}
    assert workflow.run().events["skipped_unconfirmed"] == 1
    assert len(workflow.sandbox.hub.accepted()) == 1


def test_a_full_poll_never_resends_what_the_ledger_had_to_keep_past_its_size(workflow: Workflow) -> None:
    """Without ``incremental`` a poll lists the whole source every time: the ledger keeps it all."""
    workflow.ledger_size = 3
    for index in range(1, 6):
        put(workflow, index)
    for _ in range(3):
        workflow.run(incremental=False, options=RunOptions(concurrency=1))
    assert sorted(accepted_by_email(workflow.sandbox).values()) == [1] * 5
    assert len(workflow.delivered_keys()) == 5


def test_an_edited_profile_listed_again_keeps_its_ledger_entry(workflow: Workflow) -> None:
    """The entry's update time follows the profile as polls list it again, so that eviction never
    forgets a delivery that the next poll's overlap still lists."""
    workflow.ledger_size = 2
    old = datetime.now(timezone.utc) - timedelta(days=10)
    first = put(workflow, 1, created_at=hrflow_time(old), updated_at=hrflow_time(old))
    put(
        workflow,
        2,
        created_at=hrflow_time(old + timedelta(hours=1)),
        updated_at=hrflow_time(old + timedelta(hours=1)),
    )
    assert len(workflow.run(options=RunOptions(concurrency=1)).delivered) == 2

    edited = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=1)
    put(workflow, 1, created_at=hrflow_time(old), updated_at=hrflow_time(edited))
    assert workflow.run().events["skipped_already_delivered"] == 2
    assert workflow.state()["delivered"][f"{first}|J-1"]["updated_at"] == edited.isoformat()

    put(workflow, 3)  # a new delivery pushes the ledger over its size
    assert list(workflow.run().delivered) == [profile_key(3)]
    assert first in workflow.delivered_keys()
    assert workflow.run().delivered == {}
    assert sorted(accepted_by_email(workflow.sandbox).values()) == [1, 1, 1]


def test_a_delivery_for_another_job_leaves_the_polled_jobs_retry_entry(workflow: Workflow) -> None:
    old = datetime.now(timezone.utc) - timedelta(days=30)
    failed = put(workflow, 1, created_at=hrflow_time(old), updated_at=hrflow_time(old))
    put(workflow, 2)
    workflow.sandbox.hub.enqueue(*[{"status": 503}] * FAST_RETRY.max_attempts)
    assert list(workflow.run(options=RunOptions(concurrency=1)).failed) == [failed]

    other_job = Workflow(workflow.sandbox, workflow.state_dir, push={**workflow.push, "job_id": "J-2"})
    assert list(other_job.run(profile_key=failed).delivered) == [failed]  # an event run for J-2
    assert workflow.state()["retry"][failed]["job"] == "J-1"

    assert list(workflow.run().delivered) == [failed]  # J-1's retry still comes
    jobs = sorted(
        (r["body"]["candidate"]["email"], r["body"]["context"]["job_id"])
        for r in workflow.sandbox.hub.accepted()
    )
    assert jobs == [(email_of(1), "J-1"), (email_of(1), "J-2"), (email_of(2), "J-1")]

"""The handed case ``retry_after_commit.md``: the hub stored the candidate but its reply was lost.

Expected: the send is reported unconfirmed (result and state), a re-run of the same workflow
sends nothing, so the hub holds exactly one candidate for the profile and job; a resend happens
only when asked for, and says so in the log.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from airflow_provider_broadbean.pipeline import RunOptions
from tests.delivery.helpers import Workflow, accepted_by_email, candidate_posts

DUP_KEY = "f000000000000000000000000000000000000001"
DUP = {"key": DUP_KEY, "info": {"full_name": "Dup Example", "email": "dup@example.test"}}
JOB = "J-1"

LOST_REPLIES = {
    "connection closed after commit": {"action": "drop_after_commit"},
    "read timeout after commit": {"action": "drop_after_commit", "hang_s": 2},
}


@pytest.fixture
def dup(workflow: Workflow) -> Workflow:
    workflow.sandbox.hrflow.put_profile(workflow.source_key, DUP)
    workflow.push["job_id"] = JOB
    workflow.read_timeout = 0.5
    return workflow


@pytest.mark.parametrize("lost_reply", LOST_REPLIES.values(), ids=LOST_REPLIES.keys())
def test_lost_reply_is_unconfirmed_and_a_rerun_does_not_resend(
    dup: Workflow, lost_reply: dict[str, Any]
) -> None:
    hub = dup.sandbox.hub
    hub.enqueue(lost_reply)

    first = dup.run(profile_key=DUP_KEY, incremental=False)

    assert first.status.value == "success_with_failures"
    assert first.unconfirmed == [DUP_KEY]
    assert first.delivered == {} and first.failed == {}
    assert first.events["unconfirmed"] == 1 and first.events["write_success"] == 0
    assert len(candidate_posts(dup.sandbox)) == 1  # not repeated inside the try
    assert list(dup.state()["pending"]) == [f"{DUP_KEY}|{JOB}"]
    assert dup.state()["delivered"] == {}
    assert accepted_by_email(dup.sandbox) == {"dup@example.test": 1}

    event_rerun = dup.run(profile_key=DUP_KEY, incremental=False)
    poll_rerun = dup.run(incremental=True)

    for rerun in (event_rerun, poll_rerun):
        assert rerun.events["skipped_unconfirmed"] == 1 and rerun.events["write_success"] == 0
        assert rerun.unconfirmed == [DUP_KEY]
    assert len(candidate_posts(dup.sandbox)) == 1
    assert accepted_by_email(dup.sandbox) == {"dup@example.test": 1}
    assert list(dup.state()["pending"]) == [f"{DUP_KEY}|{JOB}"]


def test_confirmed_delivery_is_recorded_with_its_transaction_and_never_repeated(dup: Workflow) -> None:
    first = dup.run(profile_key=DUP_KEY, incremental=False)
    [stored] = dup.sandbox.hub.accepted()
    assert first.delivered == {DUP_KEY: stored["transaction_id"]}
    ledger = dup.state()["delivered"]
    assert ledger[f"{DUP_KEY}|{JOB}"]["transaction_id"] == stored["transaction_id"]
    assert dup.state()["pending"] == {}

    replay = dup.run(profile_key=DUP_KEY, incremental=False, options=RunOptions(resend_unconfirmed=True))
    assert replay.events["skipped_already_delivered"] == 1 and replay.events["write_success"] == 0
    assert len(candidate_posts(dup.sandbox)) == 1

    other_job = Workflow(dup.sandbox, dup.state_dir, push={**dup.push, "job_id": "J-2"})
    assert other_job.run(profile_key=DUP_KEY, incremental=False).events["write_success"] == 1
    assert accepted_by_email(dup.sandbox) == {"dup@example.test": 2}  # one per job


def test_resend_is_explicit_and_logged(dup: Workflow, caplog: pytest.LogCaptureFixture) -> None:
    """A request lost before the hub stored anything: after checking the hub, the user resends."""
    dup.sandbox.hub.enqueue({"action": "hang", "hang_s": 2})
    first = dup.run(profile_key=DUP_KEY, incremental=False)
    assert first.unconfirmed == [DUP_KEY]
    assert dup.sandbox.hub.accepted() == []

    caplog.set_level(logging.INFO, logger="airflow_provider_broadbean")
    assert dup.run(profile_key=DUP_KEY, incremental=False).events["write_success"] == 0
    assert f"Profile {DUP_KEY} has an unconfirmed send for job {JOB}" in caplog.text
    assert "set resend_unconfirmed to resend it" in caplog.text
    caplog.clear()

    resent = dup.run(profile_key=DUP_KEY, incremental=False, options=RunOptions(resend_unconfirmed=True))

    assert f"Profile {DUP_KEY}: resending an unconfirmed send, as asked" in caplog.text
    [stored] = dup.sandbox.hub.accepted()
    assert resent.delivered == {DUP_KEY: stored["transaction_id"]}
    assert resent.unconfirmed == []
    assert dup.state()["pending"] == {}
    assert dup.state()["delivered"][f"{DUP_KEY}|{JOB}"]["transaction_id"] == stored["transaction_id"]


def test_resend_after_a_stored_candidate_makes_a_second_one(dup: Workflow) -> None:
    """Why a resend needs a person: the hub offers no way to ask whether it stored the first."""
    dup.sandbox.hub.enqueue({"action": "drop_after_commit"})
    dup.run(profile_key=DUP_KEY, incremental=False)
    dup.run(profile_key=DUP_KEY, incremental=False, options=RunOptions(resend_unconfirmed=True))
    assert accepted_by_email(dup.sandbox) == {"dup@example.test": 2}

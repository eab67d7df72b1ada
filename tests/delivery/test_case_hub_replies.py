"""The handed cases ``hub_replies.md`` and ``rate_limit.md`` at the pipeline level.

The client-level behaviour (parsing, retries inside one send, signatures) is covered in
``tests/integration/test_candidate_hub_client.py``. Here: what the run makes of each reply — the
profile's outcome, the ledger, the retry list of a poll — and that the other profiles go on.
"""

from __future__ import annotations

import logging
import socket
import time
from typing import Any

import pytest

from airflow_provider_broadbean.candidate_hub import RetryPolicy
from airflow_provider_broadbean.pipeline import RunOptions
from tests.delivery.helpers import (
    FAST_RETRY,
    Workflow,
    accepted_by_email,
    candidate_posts,
    email_of,
    person,
    profile_key,
)

HTML_502 = "<html><body><h1>502 Bad Gateway</h1></body></html>"
MAINTENANCE = "<html><title>Maintenance</title>" + "x" * 2000 + "</html>"
JSON_CHARSET = "application/json; charset=utf-8"

# One profile per reply of hub_replies.md, in the order a one-at-a-time poll sends them.
REPLIES: list[list[dict[str, Any]]] = [
    [{"status": 502, "content_type": "text/html", "body": HTML_502}] * FAST_RETRY.max_attempts,
    [{"status": 200, "content_type": "text/html; charset=utf-8", "body": MAINTENANCE}],
    [{"status": 200, "content_type": JSON_CHARSET, "body": '{"success":0,"error":"invalid signature"}'}],
    [{"status": 400, "body": '{"success":0,"error":"email is required"}'}],
    [{"action": "commit", "content_type": JSON_CHARSET, "body": '{"success":1,"transaction_id":"TX-0001"}'}],
]


def put_people(workflow: Workflow, count: int, *, first: int = 1, hour: int = 5) -> list[str]:
    """Profiles ``first``.. created (and last updated) an hour apart from ``hour`` o'clock on."""
    keys = []
    for index in range(first, first + count):
        key = profile_key(index)
        stamp = f"2026-05-04T{hour + index - first:02d}:00:00+0000"
        workflow.sandbox.hrflow.put_profile(
            workflow.source_key,
            person(key, f"Person {index}", email_of(index), created_at=stamp, updated_at=stamp),
        )
        keys.append(key)
    return keys


def test_each_hub_reply_costs_its_profile_only_and_transient_ones_come_back(
    workflow: Workflow, caplog: pytest.LogCaptureFixture
) -> None:
    k502, khtml, ksuccess0, k400, kok = put_people(workflow, 5)
    for replies in REPLIES:
        workflow.sandbox.hub.enqueue(*replies)
    caplog.set_level(logging.ERROR, logger="airflow_provider_broadbean")

    run_1 = workflow.run(options=RunOptions(concurrency=1))

    assert run_1.status.value == "success_with_failures"
    assert run_1.delivered == {kok: "TX-0001"}
    assert workflow.state()["delivered"][f"{kok}|J-1"]["transaction_id"] == "TX-0001"
    assert set(run_1.failed) == {k502, khtml, ksuccess0, k400}
    assert "HTTP 502" in run_1.failed[k502] and "502 Bad Gateway" in run_1.failed[k502]
    assert "Maintenance" in run_1.failed[khtml] and len(run_1.failed[khtml]) < 700
    assert "invalid signature" in run_1.failed[ksuccess0]
    assert "email is required" in run_1.failed[k400]
    assert run_1.events["write_failure"] == 4 and run_1.events["write_success"] == 1
    assert "x" * 501 not in caplog.text  # the maintenance page is cut to 500 characters in the log
    # The 502 is retried by the hook, the other replies are not: one request each.
    assert len(candidate_posts(workflow.sandbox)) == FAST_RETRY.max_attempts + 4
    assert workflow.sandbox.hub.faults()["script_remaining"] == 0
    # The proxy's 502 and maintenance page never reached the hub's judgement: the next poll tries
    # them again. The hub's own refusals (success 0, 400) wait for an edit of the profile.
    assert set(workflow.state()["retry"]) == {k502, khtml}
    assert workflow.state()["pending"] == {}

    run_2 = workflow.run(options=RunOptions(concurrency=1))

    assert set(run_2.delivered) == {k502, khtml}
    assert run_2.failed == {} and run_2.events["skipped_already_delivered"] == 1  # kok, in the overlap
    assert workflow.state()["retry"] == {}
    assert accepted_by_email(workflow.sandbox) == {email_of(1): 1, email_of(2): 1, email_of(5): 1}


def test_502_forever_is_a_write_failure_while_the_others_go_on(workflow: Workflow) -> None:
    keys = put_people(workflow, 4)
    workflow.sandbox.hub.enqueue(
        {"action": "pass"}, *[{"status": 502, "content_type": "text/html", "body": HTML_502}] * 4
    )
    run_1 = workflow.run(options=RunOptions(concurrency=1))
    assert list(run_1.failed) == [keys[1]]
    assert set(run_1.delivered) == {keys[0], keys[2], keys[3]}

    run_2 = workflow.run(options=RunOptions(concurrency=1))
    assert list(run_2.delivered) == [keys[1]]
    assert sorted(accepted_by_email(workflow.sandbox).values()) == [1, 1, 1, 1]


def test_secret_refused_then_fixed_loses_no_profile(workflow: Workflow) -> None:
    """401 refuses the sender: a poll after the fix sends what the refused poll left, however old."""
    old = put_people(workflow, 3, hour=5)
    new = put_people(workflow, 1, first=10, hour=10)
    refused = {"status": 401, "body": '{"success":0,"error":"invalid signature"}'}
    workflow.sandbox.hub.enqueue(refused, refused, refused)

    run_1 = workflow.run(options=RunOptions(concurrency=1))
    assert set(run_1.failed) == set(old) and set(run_1.delivered) == set(new)

    run_2 = workflow.run(options=RunOptions(concurrency=1))  # the cursor is now 3 hours past them
    assert set(run_2.delivered) == set(old)
    assert sum(accepted_by_email(workflow.sandbox).values()) == 4


def test_429_with_retry_after_is_delivered_and_recorded(workflow: Workflow) -> None:
    [key] = put_people(workflow, 1)
    workflow.sandbox.hub.enqueue(
        {"status": 429, "headers": {"Retry-After": "2"}},
        {"status": 429, "headers": {"Retry-After": "2"}},
        {"action": "commit", "body": '{"success":1,"transaction_id":"TX-9"}'},
    )
    workflow.retry = RetryPolicy(max_attempts=5, max_wait=30)
    started = time.monotonic()
    result = workflow.run()
    assert 3.9 <= time.monotonic() - started < 10
    assert result.delivered == {key: "TX-9"}
    assert workflow.state()["delivered"][f"{key}|J-1"]["transaction_id"] == "TX-9"
    assert len(candidate_posts(workflow.sandbox)) == 3


def test_429_forever_fails_the_profile_in_bounded_time_and_a_later_poll_sends_it(
    workflow: Workflow,
) -> None:
    keys = put_people(workflow, 2)
    workflow.sandbox.hub.set_faults(rate_limit_rate=1.0)
    workflow.retry = RetryPolicy(max_attempts=4, initial_wait=0.05, max_wait=0.2, max_total=2.0)
    started = time.monotonic()
    run_1 = workflow.run()
    assert time.monotonic() - started < 5
    assert (run_1.status.value, run_1.reason.value) == ("fatal", "write_failure")
    assert set(run_1.failed) == set(keys) and all("429" in error for error in run_1.failed.values())
    assert len(candidate_posts(workflow.sandbox)) == 2 * 4
    assert set(workflow.state()["retry"]) == set(keys)

    workflow.sandbox.hub.clear_faults()
    run_2 = workflow.run()
    assert set(run_2.delivered) == set(keys)
    assert workflow.state()["retry"] == {}


def test_hub_down_fails_every_profile_and_the_next_poll_sends_them(workflow: Workflow) -> None:
    """A refused connection surely sent nothing: retried by the hook, then left for the next run."""
    keys = put_people(workflow, 3)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    workflow.hub_url = f"http://127.0.0.1:{closed_port}"

    down = workflow.run()

    assert (down.status.value, down.reason.value) == ("fatal", "write_failure")
    assert down.unconfirmed == [] and set(down.failed) == set(keys)
    assert workflow.state()["pending"] == {} and set(workflow.state()["retry"]) == set(keys)

    workflow.hub_url = None
    back = workflow.run()
    assert set(back.delivered) == set(keys)
    assert sorted(accepted_by_email(workflow.sandbox).values()) == [1, 1, 1]

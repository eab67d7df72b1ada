"""A run stopped by an exception in the middle (Airflow's ``execution_timeout`` raises one from a
signal handler, as does a kill turned into an exception) keeps what its sends in flight achieved.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_broadbean.pipeline import RunOptions
from tests.delivery.helpers import (
    TaskTimeout,
    Workflow,
    accepted_by_email,
    candidate_posts,
    email_of,
    person,
    profile_key,
    raise_task_timeout,
)

PROFILES = 12


@pytest.fixture
def alarm() -> Iterator[Any]:
    previous = signal.signal(signal.SIGALRM, raise_task_timeout)
    yield lambda seconds: signal.setitimer(signal.ITIMER_REAL, seconds)
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)


def test_a_run_stopped_mid_send_records_its_sends_in_flight(workflow: Workflow, alarm: Any) -> None:
    keys = [profile_key(index) for index in range(1, PROFILES + 1)]
    for index, key in enumerate(keys, start=1):
        workflow.sandbox.hrflow.put_profile(
            workflow.source_key, person(key, f"Person {index}", email_of(index))
        )
    workflow.sandbox.hub.set_faults(latency_ms=500)  # each chunk of four is in flight for half a second

    alarm(0.8)
    with pytest.raises(TaskTimeout):
        workflow.run(options=RunOptions(concurrency=4))

    at_hub = set(accepted_by_email(workflow.sandbox))
    assert 0 < len(at_hub) < PROFILES
    assert len(candidate_posts(workflow.sandbox)) == len(at_hub)  # nothing left after the stop
    state = workflow.state()
    assert state["pending"] == {}, "a send in flight at the stop was left unconfirmed"
    assert {email_of(int(key, 16)) for key in workflow.delivered_keys()} == at_hub

    workflow.sandbox.hub.clear_faults()
    rest = workflow.run(options=RunOptions(concurrency=4))
    assert len(rest.delivered) == PROFILES - len(at_hub)
    assert rest.events["skipped_already_delivered"] == len(at_hub)
    assert sorted(accepted_by_email(workflow.sandbox).values()) == [1] * PROFILES

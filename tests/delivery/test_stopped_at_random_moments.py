"""Runs stopped at random moments from outside, or by a state write that fails, in the middle of sends.

Airflow's ``execution_timeout`` raises ``AirflowTaskTimeout`` in the task's main thread from a
SIGALRM handler, wherever that thread happens to be: taking an outcome off a queue, writing the
state, handing profiles to the senders. Wherever it lands, the run must stop at once (no hang),
record every send that reached the hub, and leave no pending mark on a profile that never left.
"""

from __future__ import annotations

import random
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_broadbean.pipeline import RunOptions
from tests.delivery.helpers import (
    TaskTimeout,
    Workflow,
    accepted_by_email,
    email_of,
    locked_log_handlers,
    person,
    profile_key,
    raise_task_timeout,
    threads_of_runs,
)
from tests.delivery.test_streaming_run import _StopsWritingAfter

ATTEMPTS = 30


def _put(workflow: Workflow, count: int) -> None:
    for index in range(1, count + 1):
        key = profile_key(index)
        workflow.sandbox.hrflow.put_profile(workflow.source_key, person(key, f"P {index}", email_of(index)))


def _stopped_cleanly(workflow: Workflow) -> list[str]:
    """What is wrong with the state after a stop, against what the hub received."""
    problems = []
    state = workflow.state()
    delivered = {email_of(int(entry.split("|")[0], 16)) for entry in state["delivered"]}
    sent_not_recorded = set(accepted_by_email(workflow.sandbox)) - delivered
    if sent_not_recorded:
        problems.append(f"{len(sent_not_recorded)} sent but not recorded as delivered")
    if state["pending"]:
        problems.append(f"{len(state['pending'])} left pending")
    return problems


def test_a_timeout_at_a_random_moment_stops_the_run_and_loses_nothing(workflow: Workflow) -> None:
    _put(workflow, 200)
    workflow.sandbox.hub.set_faults(latency_ms=5)

    previous = signal.signal(signal.SIGALRM, raise_task_timeout)
    rng = random.Random(7)
    problems: list[tuple[int, str]] = []
    try:
        for attempt in range(ATTEMPTS):
            workflow.workflow_id = f"timeout-{attempt}"
            signal.setitimer(signal.ITIMER_REAL, rng.uniform(0.05, 0.6))
            started = time.monotonic()
            try:
                workflow.run(options=RunOptions(concurrency=8, page_size=10))
            except TaskTimeout:
                pass
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            assert time.monotonic() - started < 8, f"attempt {attempt} did not stop"
            problems += [(attempt, problem) for problem in _stopped_cleanly(workflow)]
            workflow.sandbox.hub.clear_candidates()
    finally:
        signal.signal(signal.SIGALRM, previous)
    assert problems == []
    assert threads_of_runs(wait=2) == []  # stopped runs
    assert locked_log_handlers() == []


@pytest.mark.parametrize("failing_write", [2, 3, 4])
def test_a_state_write_that_fails_mid_run_never_hangs_it(
    workflow: Workflow, tmp_path: Path, failing_write: int
) -> None:
    _put(workflow, 30)
    for attempt in range(8):
        workflow.workflow_id = f"failing-write-{failing_write}-{attempt}"
        workflow.store = _StopsWritingAfter(tmp_path / f"store-{attempt}", good=failing_write - 1)
        box: dict[str, Any] = {}

        def run(box: dict[str, Any] = box) -> None:
            box["result"] = workflow.run(options=RunOptions(concurrency=4, page_size=10))

        runner = threading.Thread(target=run, daemon=True)
        runner.start()
        runner.join(20)
        assert not runner.is_alive(), f"attempt {attempt}: the run did not end"
        assert box["result"].reason.value == "state_failure"
        assert all(count == 1 for count in accepted_by_email(workflow.sandbox).values())
        workflow.sandbox.hub.clear_candidates()
    assert threads_of_runs(wait=2) == []  # stopped runs

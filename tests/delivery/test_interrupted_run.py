"""A run stopped by an exception in the middle (Airflow's ``execution_timeout`` raises one from a
signal handler, as does a kill turned into an exception) keeps what its sends in flight achieved.
"""

from __future__ import annotations

import http.server
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_broadbean import pipeline
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
    threads_of_runs,
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


def test_a_stop_waits_a_bounded_time_for_sends_in_flight(
    workflow: Workflow, alarm: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A send held past the stop's wait keeps its pending mark (unconfirmed) and the run still stops."""
    for index in range(1, PROFILES + 1):
        key = profile_key(index)
        workflow.sandbox.hrflow.put_profile(workflow.source_key, person(key, f"P {index}", email_of(index)))
    workflow.sandbox.hub.set_faults(latency_ms=1500)  # within the 2 s read timeout, past the stop's wait
    monkeypatch.setattr(pipeline, "STOP_WAIT", 0.2)

    alarm(0.3)
    started = time.monotonic()
    with pytest.raises(TaskTimeout):
        workflow.run(options=RunOptions(concurrency=4))
    stopped_after = time.monotonic() - started

    assert stopped_after < 1.2
    in_flight = workflow.pending_keys()
    assert len(in_flight) == 4  # the four sends in flight: unconfirmed, not resent
    assert workflow.delivered_keys() == set()
    keys = ", ".join(sorted(in_flight))
    assert (
        f"4 send(s) still in flight 0.2 s after the run began to stop; profiles {keys} stay marked as "
        "unconfirmed sends"
    ) in caplog.text
    assert threads_of_runs(wait=5) == []  # the senders end with their replies
    assert len(accepted_by_email(workflow.sandbox)) == 4

    workflow.sandbox.hub.clear_faults()
    rest = workflow.run(options=RunOptions(concurrency=4))
    assert rest.events["skipped_unconfirmed"] == 4
    assert len(rest.delivered) == PROFILES - 4
    assert sorted(accepted_by_email(workflow.sandbox).values()) == [1] * PROFILES


class _Trickle(http.server.BaseHTTPRequestHandler):
    """A CV whose bytes come one every half second: each read within the timeout, the whole slow."""

    stop = threading.Event()

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/pdf")
        self.send_header("Content-Length", "24")
        self.end_headers()
        for _ in range(24):
            if self.stop.is_set():
                return  # the connection closes: the download left behind fails at once
            try:
                self.wfile.write(b"x")
                self.wfile.flush()
            except OSError:
                return
            time.sleep(0.5)

    def log_message(self, *args: Any) -> None:
        pass


def test_a_stop_does_not_wait_for_a_download_under_way(workflow: Workflow, alarm: Any) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Trickle)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/cv.pdf"
    key = profile_key(1)
    attachment = {"type": "original", "original_file_name": "cv.pdf", "public_url": url}
    workflow.sandbox.hrflow.put_profile(
        workflow.source_key, person(key, "P 1", email_of(1), attachments=[attachment])
    )
    try:
        alarm(1.0)
        started = time.monotonic()
        with pytest.raises(TaskTimeout):
            workflow.run(options=RunOptions(concurrency=1))
        assert time.monotonic() - started < 3  # not the 12 s the download takes
        assert workflow.pending_keys() == set() and workflow.sandbox.hub.accepted() == []
    finally:
        _Trickle.stop.set()
        server.shutdown()
    assert threads_of_runs(wait=5) == []  # the preparation left behind ends

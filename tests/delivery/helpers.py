"""Running the action against the sandbox and reading back what the hub and the state hold.

The delivery suites build :class:`CreateProfilesRun` themselves (as the connector does) so that they
can give the hub client a fast retry policy and a short read timeout; everything else is the
production code path over real HTTP.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from airflow_provider_broadbean.candidate_hub import CandidateHubClient, RetryPolicy
from airflow_provider_broadbean.hrflow_client import HrFlowApi
from airflow_provider_broadbean.parameters import PullParameters, PushParameters
from airflow_provider_broadbean.pipeline import CreateProfilesRun, RunOptions
from airflow_provider_broadbean.result import RunResult
from airflow_provider_broadbean.state import JsonFileStateStore, StateStore, WorkflowState
from sandbox.config import HRFLOW_API_SECRET, HRFLOW_API_USER, HUB_SECRET

SOURCE = "d" * 40
JOB = "J-1"
PUSH = {"client_id": "123", "source_id": "board1", "job_id": JOB}
FAST_RETRY = RetryPolicy(max_attempts=4, initial_wait=0.02, max_wait=0.1, max_total=5.0)


def profile_key(index: int) -> str:
    """A 40-hex profile key that sorts like ``index``."""
    return f"{index:040x}"


def person(key: str, name: str, email: str, **extra: Any) -> dict[str, Any]:
    return {"key": key, "info": {"full_name": name, "email": email}, **extra}


def email_of(index: int) -> str:
    return f"p{index:04d}@example.test"


@dataclass
class Workflow:
    """One workflow id against the sandbox, its state in a JSON file (or another store)."""

    sandbox: Any
    state_dir: Path
    workflow_id: str = "delivery"
    source_key: str = SOURCE
    push: dict[str, Any] = field(default_factory=lambda: dict(PUSH))
    retry: RetryPolicy = FAST_RETRY
    read_timeout: float = 2.0
    store: StateStore | None = None
    hub_url: str | None = None
    ledger_size: int | None = None

    def run(
        self,
        *,
        profile_key: str | None = None,
        incremental: bool = True,
        options: RunOptions | None = None,
        persist: bool = True,
        logics: list[Any] | None = None,
    ) -> RunResult:
        """One run of the action; poll mode unless a profile key is given."""
        options = options or RunOptions(concurrency=2)
        hrflow = HrFlowApi(
            api_secret=HRFLOW_API_SECRET, api_user=HRFLOW_API_USER, api_url=self.sandbox.hrflow_url
        )
        hub = CandidateHubClient(
            secret_key=HUB_SECRET,
            base_url=self.hub_url or self.sandbox.hub_url,
            retry=self.retry,
            read_timeout=self.read_timeout,
            pool_size=options.concurrency,
        )
        try:
            return CreateProfilesRun(
                workflow_id=self.workflow_id,
                pull=PullParameters(source_key=self.source_key, profile_key=profile_key),
                push=PushParameters(**self.push),
                hrflow=hrflow,
                hub=hub,
                state=WorkflowState(
                    self.store or JsonFileStateStore(self.state_dir),
                    self.workflow_id,
                    **({"ledger_size": self.ledger_size} if self.ledger_size else {}),
                ),
                logics=logics,
                persist=persist,
                incremental=incremental,
                options=options,
            ).run()
        finally:
            hrflow.close()
            hub.close()

    def state(self) -> dict[str, Any]:
        """The state document as stored (an empty one when nothing was written yet)."""
        document = (self.store or JsonFileStateStore(self.state_dir)).load(self.workflow_id)
        return document or {"delivered": {}, "pending": {}, "retry": {}, "cursor": None}

    def delivered_keys(self) -> set[str]:
        return {entry.split("|", 1)[0] for entry in self.state()["delivered"]}

    def pending_keys(self) -> set[str]:
        return {entry.split("|", 1)[0] for entry in self.state()["pending"]}


class BlindVariables:
    """Airflow Variables as a task sees them: ``get`` and a blind ``set``, each a round trip."""

    def __init__(self, round_trip: float = 0.004) -> None:
        self.round_trip = round_trip
        self.values: dict[str, str] = {}
        self.writes = 0
        self._lock = threading.Lock()

    def get(self, key: str, default: Any = None, **_: Any) -> Any:
        time.sleep(self.round_trip)
        with self._lock:
            return self.values.get(key, default)

    def set(self, key: str, value: str, **_: Any) -> None:
        time.sleep(self.round_trip)
        with self._lock:
            self.values[key] = value
            self.writes += 1


def accepted_by_email(sandbox: Any) -> Counter[str]:
    """How many candidates the hub stored per email address."""
    return Counter(record["body"]["candidate"]["email"] for record in sandbox.hub.accepted())


def candidate_posts(sandbox: Any) -> list[dict[str, Any]]:
    return [entry for entry in sandbox.hub.requests() if entry["path"] == "/candidate"]


def load_case(name: str) -> Any:
    return json.loads((Path(__file__).parent / "cases" / name).read_text(encoding="utf-8"))


class TaskTimeout(Exception):
    """Stands for ``AirflowTaskTimeout``, raised in the task's main thread by a SIGALRM handler."""


_LOGGING_FILE = logging.__file__


def raise_task_timeout(signum: int, frame: FrameType | None) -> None:
    """A SIGALRM handler that raises :class:`TaskTimeout`, as Airflow's ``execution_timeout`` does.

    Except inside the logging module: before Python 3.13 a ``Handler`` releases its lock in a
    ``finally`` that calls a Python method, so an exception landing there leaves the lock held and
    every later log line of another thread blocks, this test session's included. There the timeout
    is put off by a millisecond, until the main thread is back in the code under test.
    """
    while frame is not None:
        if frame.f_code.co_filename == _LOGGING_FILE:
            signal.setitimer(signal.ITIMER_REAL, 0.001)
            return
        frame = frame.f_back
    raise TaskTimeout


def locked_log_handlers() -> list[str]:
    """The logging handlers whose lock another thread cannot take within a second."""
    handlers = {id(h): h for h in logging.getLogger().handlers}
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger):
            handlers.update((id(h), h) for h in logger.handlers)
    locked: list[str] = []

    def probe() -> None:
        for handler in handlers.values():
            lock = handler.lock
            if lock is not None and lock.acquire(timeout=1):
                lock.release()
            elif lock is not None:
                locked.append(repr(handler))

    prober = threading.Thread(target=probe)
    prober.start()
    prober.join()
    return locked


def threads_of_runs(wait: float = 0.0) -> list[str]:
    """The provider's threads still alive, after waiting up to ``wait`` seconds for them to end.

    A finished run leaves none (``wait=0``). A stopped run does not wait for the preparations under
    way (they send nothing) nor past ``STOP_WAIT`` for a send: those end on their own, soon after.
    """
    deadline = time.monotonic() + wait
    while True:
        alive = [thread.name for thread in threading.enumerate() if thread.name.startswith("broadbean-")]
        if not alive or time.monotonic() >= deadline:
            return alive
        time.sleep(0.05)

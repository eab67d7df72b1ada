"""Fixtures of the suites that put other servers in the way: a proxy, an untrusted hub, storage."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_broadbean.state import JsonFileStateStore
from tests.delivery.helpers import SOURCE, Workflow


@pytest.fixture
def workflow(sandbox: Any, tmp_path: Path) -> Workflow:
    sandbox.hrflow.add_source(SOURCE, "Tests with other servers in the way")
    return Workflow(sandbox, tmp_path / "state")


_BASELINE: set[int] = set()


@pytest.fixture(autouse=True)
def _thread_baseline() -> None:
    """Threads left by an earlier (hung) test are not this test's."""
    _BASELINE.clear()
    _BASELINE.update(id(t) for t in threading.enumerate())


def provider_threads() -> list[str]:
    return [
        t.name
        for t in threading.enumerate()
        if t.name.startswith("broadbean-") and t.is_alive() and id(t) not in _BASELINE
    ]


def assert_no_provider_threads(grace: float = 2.0) -> None:
    deadline = time.monotonic() + grace
    while provider_threads() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert provider_threads() == [], f"leftover threads: {provider_threads()}"


class FlakyStore:
    """A JSON file store (composition, not a subclass) whose saves fail on chosen attempts."""

    def __init__(
        self,
        directory: Path,
        fail_on: set[int] | None = None,
        fail_from: int | None = None,
        delay: float = 0.0,
    ) -> None:
        self.inner = JsonFileStateStore(directory)
        self.fail_on = fail_on or set()
        self.fail_from = fail_from
        self.delay = delay
        self.saves = 0
        self.lock = threading.Lock()

    def load(self, workflow_id: str) -> Any:
        return self.inner.load(workflow_id)

    def locked(self, workflow_id: str) -> Any:
        return self.inner.locked(workflow_id)

    def hold(self, workflow_id: str) -> Any:
        return self.inner.hold(workflow_id)

    def holds_current(self, workflow_id: str, held: Any) -> bool:
        return self.inner.holds_current(workflow_id, held)

    def delete(self, workflow_id: str) -> None:
        self.inner.delete(workflow_id)

    def save(self, workflow_id: str, document: dict[str, Any]) -> None:
        from airflow_provider_broadbean.state import StateError

        with self.lock:
            self.saves += 1
            n = self.saves
        if self.delay:
            time.sleep(self.delay)
        if n in self.fail_on or (self.fail_from is not None and n >= self.fail_from):
            raise StateError(f"injected failure of save #{n}")
        self.inner.save(workflow_id, document)

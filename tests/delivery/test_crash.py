"""Kill the worker at random moments (SIGKILL), start it again, and count what reached the hub.

The action runs in a child process through the plain-Python entry point with a JSON file state
store (``crash_child.py``); the sandbox runs in its own process (``python -m sandbox``), so it
outlives every kill. The hub answers slowly (latency), and each kill lands after a random number
of the run's requests reached the hub plus a random delay (or after a random delay alone), so
that most kills hit sends in flight.
After a bounded, seeded series of killed runs and one run left to finish: no profile reached the
hub twice, and every profile is either delivered (recorded with the hub's transaction id) or
pending in the state, that is reported unconfirmed. Run with ``-s`` for the figures.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.delivery.helpers import email_of, person, profile_key

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SOURCE = "c" * 40
SEED = 20260504
ROUNDS = 10
FIRST_WAVE = 40
NEXT_WAVES = 12  # profiles arriving before each later run, so that every run has sends to make


@pytest.fixture
def sandbox_process(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """``python -m sandbox`` on free ports, its hub writing to a data dir; stopped with SIGTERM."""
    ready = tmp_path / "sandbox-ready.json"
    with (tmp_path / "sandbox.log").open("wb") as log:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "sandbox", "--hrflow-port", "0", "--hub-port", "0"),
                *("--data-dir", str(tmp_path / "hub"), "--ready-file", str(ready)),
            ],
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while not ready.exists():
                assert process.poll() is None, "the sandbox process exited"
                assert time.monotonic() < deadline, "the sandbox did not get ready"
                time.sleep(0.05)
            yield json.loads(ready.read_text(encoding="utf-8"))
        finally:
            process.terminate()
            process.wait(timeout=10)


def admin(base: str, method: str, route: str, body: Any = None) -> Any:
    response = requests.request(method, f"{base}/_sandbox/{route}", json=body, timeout=10)
    response.raise_for_status()
    return response.json()["data"]


def add_profiles(hrflow_origin: str, first: int, count: int) -> None:
    profiles = [person(profile_key(i), f"Person {i}", email_of(i)) for i in range(first, first + count)]
    admin(hrflow_origin, "POST", "profiles", {"source_key": SOURCE, "profiles": profiles})


def candidate_posts(hub: str) -> int:
    return sum(1 for entry in admin(hub, "GET", "requests") if entry["path"] == "/candidate")


def kill_mid_run(child: subprocess.Popen[bytes], hub: str, after_posts: int, delay: float) -> bool:
    """SIGKILL the child once ``after_posts`` more requests reached the hub and ``delay`` passed.

    Returns False when the child finished first.
    """
    target = candidate_posts(hub) + after_posts
    deadline = time.monotonic() + 60
    while candidate_posts(hub) < target:
        if child.poll() is not None:
            return False
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.01)
    time.sleep(delay)
    if child.poll() is not None:
        return False
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=10)
    return True


def start_run(config: Path, result: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as handle:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.delivery.crash_child", str(config), str(result)],
            cwd=REPO,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )


def test_sigkill_at_random_moments_loses_and_duplicates_nothing(
    sandbox_process: dict[str, Any], tmp_path: Path
) -> None:
    hrflow_origin = sandbox_process["hrflow_url"].split("/v1")[0]
    hub = sandbox_process["hub_url"]
    admin(hrflow_origin, "POST", "sources", {"key": SOURCE, "name": "Crash tests"})
    add_profiles(hrflow_origin, 1, FIRST_WAVE)
    total = FIRST_WAVE
    admin(hub, "POST", "faults", {"latency_ms": 60, "drop_after_commit_rate": 0.03, "seed": SEED})
    state_dir = tmp_path / "state"
    config = tmp_path / "child.json"
    config.write_text(
        json.dumps(
            {
                **sandbox_process,
                "source_key": SOURCE,
                "workflow_id": "crash",
                "state_dir": str(state_dir),
                "concurrency": 4,
            }
        ),
        encoding="utf-8",
    )
    rng = random.Random(SEED)
    kills, finished, results = 0, 0, []

    for round_number in range(ROUNDS):
        if round_number:
            add_profiles(hrflow_origin, total + 1, NEXT_WAVES)
            total += NEXT_WAVES
        result = tmp_path / f"result-{round_number}.json"
        child = start_run(config, result, tmp_path / f"child-{round_number}.log")
        if rng.random() < 0.3:  # anywhere: start-up, listing, reading, a state write, a send
            killed = kill_mid_run(child, hub, 0, rng.uniform(0.2, 2.5))
        else:  # while sends are in flight
            killed = kill_mid_run(child, hub, rng.randint(1, NEXT_WAVES), rng.uniform(0.0, 0.15))
        if killed:
            kills += 1
        else:
            assert child.wait(timeout=120) == 0, (tmp_path / f"child-{round_number}.log").read_text()
            finished += 1
            results.extend(json.loads(result.read_text(encoding="utf-8")))

    last = start_run(config, tmp_path / "result-last.json", tmp_path / "child-last.log")
    assert last.wait(timeout=120) == 0, (tmp_path / "child-last.log").read_text()
    results.extend(json.loads((tmp_path / "result-last.json").read_text(encoding="utf-8")))

    everyone = {profile_key(i): email_of(i) for i in range(1, total + 1)}
    candidates = admin(hub, "GET", "candidates")
    at_hub = Counter(record["body"]["candidate"]["email"] for record in candidates)
    tx_at_hub = {record["body"]["candidate"]["email"]: record["transaction_id"] for record in candidates}
    state = json.loads((state_dir / "crash.json").read_text(encoding="utf-8"))
    delivered = {entry.split("|")[0]: value["transaction_id"] for entry, value in state["delivered"].items()}
    pending = {entry.split("|")[0] for entry in state["pending"]}
    stored_but_pending = {key for key in pending if everyone[key] in at_hub}
    posts = [entry for entry in admin(hub, "GET", "requests") if entry["path"] == "/candidate"]
    print(
        f"\ncrash suite: {total} profiles, {ROUNDS} runs started, {kills} killed with SIGKILL, "
        f"{finished} finished, then one final run; {len(posts)} hub requests\n"
        f"outcome: {len(delivered)} delivered and recorded, {len(pending)} unconfirmed "
        f"({len(stored_but_pending)} stored by the hub, {len(pending) - len(stored_but_pending)} never sent "
        f"or lost before the hub), {sum(at_hub.values())} candidates at the hub, "
        f"{sum(1 for n in at_hub.values() if n > 1)} duplicates, "
        f"{len(set(everyone) - set(delivered) - pending)} missing"
    )

    assert kills >= ROUNDS // 2
    assert max(at_hub.values()) == 1, "a candidate reached the hub twice"
    assert set(at_hub) <= set(everyone.values())
    assert not set(delivered) & pending
    assert set(delivered) | pending == set(everyone), "a profile is neither delivered nor unconfirmed"
    for key, transaction_id in delivered.items():
        assert tx_at_hub[everyone[key]] == transaction_id
    assert {key for key, email in everyone.items() if email in at_hub} <= set(delivered) | pending
    assert results[-1]["status"] in {"success", "success_with_failures"}
    assert results[-1]["failed"] == {}

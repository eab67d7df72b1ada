"""What the benchmarks share: the figure record, the sandbox process, the machine description.

Nothing here imports Airflow or the provider, so that a benchmark which measures imports (the DAG
parse cost) can use it without disturbing what it measures.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import statistics
import subprocess
import sys
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

PUSH_PARAMETERS = {"client_id": "123", "source_id": "board1", "job_id": "R-BENCH"}
"""Push parameters of every benchmark run; ``board1`` is a source id the sandbox hub knows."""


@dataclass
class Figure:
    """One row of the final table.

    :param name: what is measured, with its conditions.
    :param ours: the provider's figure, as printed.
    :param baseline: the naive baseline's figure (or the reference it is compared with).
    :param ratio: how the two compare, as printed.
    :param goal: the goal, as printed.
    :param met: whether the goal is met; None when the row has no goal.
    :param counts: whether a missed goal makes the suite exit non-zero (informational rows do not).
    """

    name: str
    ours: str
    baseline: str
    ratio: str
    goal: str
    met: bool | None
    counts: bool = True


def median(values: Sequence[float]) -> float:
    """The median; a benchmark reports it rather than the best run, to show what a user gets."""
    return float(statistics.median(values))


class PoolDiscards(logging.Filter):
    """Counts (and keeps off the screen) urllib3's "Connection pool is full" warnings.

    Each one means a keep-alive connection was closed because more threads used a session than
    its pool holds, so a later request pays for a new connection: worth a figure, not 300 lines.
    """

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if record.getMessage().startswith("Connection pool is full"):
            self.count += 1
            return False
        return True


@contextmanager
def counting_pool_discards() -> Iterator[PoolDiscards]:
    """Install a :class:`PoolDiscards` on urllib3's pool logger for the ``with`` block."""
    counter = PoolDiscards()
    pool_logger = logging.getLogger("urllib3.connectionpool")
    pool_logger.addFilter(counter)
    try:
        yield counter
    finally:
        pool_logger.removeFilter(counter)


def say(text: str = "") -> None:
    """One progress or detail line, flushed so that ``make bench`` shows it as it happens."""
    print(text, flush=True)


def machine() -> dict[str, str]:
    """CPU model, cores, memory, Python and Airflow versions, read without importing Airflow."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    memory = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024**2:.1f} GiB"
                break
    except (OSError, ValueError):
        pass
    return {
        "cpu": model,
        "cores": f"{usable} usable ({os.cpu_count()} online)",
        "memory": memory or "unknown",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "airflow": metadata.version("apache-airflow"),
        "os": f"{platform.system()} {platform.release()}",
    }


def machine_line() -> str:
    """The machine in one line, for the table and the README."""
    info = machine()
    return (
        f"{info['cpu']}, {info['cores']} cores, {info['memory']} RAM, {info['os']}, "
        f"{info['python']}, Airflow {info['airflow']}"
    )


@dataclass(frozen=True)
class SandboxInfo:
    """URLs, credentials and source keys of a running benchmark sandbox."""

    hrflow_url: str
    hub_url: str
    api_user: str
    api_secret: str
    hub_secret: str
    with_cv_source: str
    without_cv_source: str
    pid: int

    def hrflow_auth(self) -> dict[str, str]:
        """``hrflow_auth`` of ``Broadbean.create_profiles_in_broadbean``."""
        return {"api_secret": self.api_secret, "api_user": self.api_user, "api_url": self.hrflow_url}

    def connector_auth(self) -> dict[str, str]:
        """``connector_auth`` of ``Broadbean.create_profiles_in_broadbean``."""
        return {"secret_key": self.hub_secret, "api_url": self.hub_url}

    def clear_hub(self) -> None:
        """Forget the candidates the hub accepted, so its process does not grow run after run."""
        request = urllib.request.Request(self.hub_url + "/_sandbox/candidates", method="DELETE")
        with urllib.request.urlopen(request, timeout=30) as reply:
            reply.read()

    def to_json(self) -> str:
        """The same information as JSON, to hand to a measuring subprocess."""
        return json.dumps(self.__dict__)

    @classmethod
    def from_json(cls, text: str) -> SandboxInfo:
        """Read what :meth:`to_json` wrote."""
        return cls(**json.loads(text))


@contextmanager
def running_sandbox(*, profiles: int, cv_bytes: int, hub_latency_ms: float) -> Iterator[SandboxInfo]:
    """Start :mod:`benchmarks.sandbox_process` and stop it on exit (by closing its standard input)."""
    process = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "benchmarks.sandbox_process",
            "--profiles",
            str(profiles),
            "--cv-bytes",
            str(cv_bytes),
            "--hub-latency-ms",
            str(hub_latency_ms),
        ],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError("the benchmark sandbox exited before it was ready")
        ready: dict[str, Any] = json.loads(line)
        yield SandboxInfo(
            hrflow_url=ready["hrflow_url"],
            hub_url=ready["hub_url"],
            api_user=ready["api_user"],
            api_secret=ready["api_secret"],
            hub_secret=ready["hub_secret"],
            with_cv_source=ready["with_cv_source"],
            without_cv_source=ready["without_cv_source"],
            pid=process.pid,
        )
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run_json_child(arguments: list[str], *, env: dict[str, str] | None = None, timeout: float = 300) -> Any:
    """Run a measuring subprocess and return the JSON object it prints on its last line."""
    completed = subprocess.run(
        [PYTHON, *arguments], check=False, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )
    lines = completed.stdout.strip().splitlines()
    if completed.returncode != 0 or not lines:
        raise RuntimeError(
            f"measuring subprocess {arguments[:3]} failed (exit {completed.returncode}):\n"
            f"{completed.stderr.strip()[-2000:]}"
        )
    return json.loads(lines[-1])

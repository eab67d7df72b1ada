"""Shared fixtures: an isolated Airflow home with a real metadata database, and the sandbox."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# Airflow reads its configuration when first imported: isolate it before any test module imports it.
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="broadbean-airflow-home-"))
os.environ["AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "dags")
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_AIRFLOW_HOME / 'airflow.db'}"
os.environ["BROADBEAN_RETRY_DELAY_SECONDS"] = "1"
os.environ.setdefault("BROADBEAN_STATE_DIR", str(_AIRFLOW_HOME / "broadbean-state"))


@pytest.fixture(scope="session")
def airflow_env() -> dict[str, str]:
    """Environment of the isolated Airflow home, with its metadata database migrated once."""
    env = dict(os.environ)
    marker = _AIRFLOW_HOME / ".migrated"
    if not marker.exists():
        airflow_bin = str(Path(sys.executable).parent / "airflow")
        subprocess.run([airflow_bin, "db", "migrate"], env=env, check=True, capture_output=True, timeout=300)
        marker.touch()
    return env


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[object]:
    """Both emulators on free loopback ports, seeded, with a fresh hub record per test."""
    from sandbox.server import Sandbox

    with Sandbox(data_dir=tmp_path / "sandbox") as running:
        yield running

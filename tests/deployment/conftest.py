"""A real Airflow deployment on loopback (``airflow standalone``) wired to the sandbox.

One deployment per test session: starting the api-server, scheduler, dag-processor and triggerer
takes about a minute. Every process it starts is in its own process group, ended at teardown.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from sandbox import config
from sandbox.server import Sandbox

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
STARTUP_TIMEOUT = 240


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Deployment:
    home: Path
    base_url: str
    username: str
    password: str
    sandbox: Sandbox
    output: Path

    def token(self) -> str:
        reply = requests.post(
            f"{self.base_url}/auth/token",
            json={"username": self.username, "password": self.password},
            timeout=30,
        )
        reply.raise_for_status()
        return str(reply.json()["access_token"])

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token()}"}
        return requests.request(
            method, f"{self.base_url}/api/v2{path}", headers=headers, timeout=30, **kwargs
        )

    def log_files(self) -> list[Path]:
        return sorted(path for path in (self.home / "logs").rglob("*") if path.is_file())


def _wait_until_up(base_url: str, process: subprocess.Popen[bytes], output: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"airflow standalone exited early:\n{output.read_text()[-3000:]}")
        try:
            if requests.get(f"{base_url}/api/v2/version", timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(2)
    raise RuntimeError(f"Airflow did not start in {STARTUP_TIMEOUT} s:\n{output.read_text()[-3000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """End the whole process group: stopping the parent alone leaves the scheduler running."""
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        time.sleep(1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def deployment() -> Iterator[Deployment]:
    home = Path(tempfile.mkdtemp(prefix="broadbean-deployment-"))
    ARTIFACTS.mkdir(exist_ok=True)
    api_port = free_port()
    with Sandbox(data_dir=home / "sandbox") as sandbox:
        env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
        env.update(
            {
                "AIRFLOW_HOME": str(home),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__PARALLELISM": "4",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
                "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(api_port),
                "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{api_port}",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                "AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL": "5",
                "BROADBEAN_RETRY_DELAY_SECONDS": "1",
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
                "AIRFLOW_CONN_HRFLOW_DEFAULT": json.dumps(
                    {
                        "conn_type": "hrflow",
                        "host": sandbox.hrflow_url,
                        "login": config.HRFLOW_API_USER,
                        "password": config.HRFLOW_API_SECRET,
                    }
                ),
                "AIRFLOW_CONN_BROADBEAN_DEFAULT": json.dumps(
                    {"conn_type": "broadbean", "host": sandbox.hub_url, "password": config.HUB_SECRET}
                ),
            }
        )
        output = home / "standalone.log"
        with output.open("wb") as sink:
            process = subprocess.Popen(
                [str(Path(sys.executable).parent / "airflow"), "standalone"],
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        try:
            base_url = f"http://127.0.0.1:{api_port}"
            _wait_until_up(base_url, process, output)
            passwords = json.loads((home / "simple_auth_manager_passwords.json.generated").read_text())
            yield Deployment(home, base_url, "admin", passwords["admin"], sandbox, output)
        finally:
            _stop(process)

"""``python -m sandbox`` as another process uses it: ready line, ready file, clean stop on SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def test_runner_writes_the_ready_file_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    ready_file = tmp_path / "ready.json"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox",
            "--hrflow-port",
            "0",
            "--hub-port",
            "0",
            "--data-dir",
            str(tmp_path / "data"),
            "--ready-file",
            str(ready_file),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 10
        while not ready_file.exists():
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "no ready file"
            time.sleep(0.05)
        ready = json.loads(ready_file.read_text(encoding="utf-8"))
        assert process.stdout is not None
        assert json.loads(process.stdout.readline()) == ready
        assert {
            "hrflow_url",
            "hub_url",
            "api_user",
            "api_secret",
            "source_key",
            "hub_secret",
            "hub_sources",
        } <= set(ready)
        assert ready["hrflow_url"].endswith("/v1/") and ready["hub_url"].startswith("http://127.0.0.1:")

        headers = {"X-API-KEY": ready["api_secret"], "X-USER-EMAIL": ready["api_user"]}
        assert requests.get(ready["hrflow_url"] + "auth", headers=headers, timeout=5).status_code == 200
        assert requests.get(ready["hub_url"] + "/_sandbox/health", timeout=5).json()["ok"] is True

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

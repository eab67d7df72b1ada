"""Runs through the plain-Python entry point, in a process the crash suite can SIGKILL.

``python -m tests.delivery.crash_child CONFIG RESULT``: CONFIG is a JSON file with the sandbox's
ready data (``python -m sandbox --ready-file``, or ``Sandbox.describe()``) plus ``source_key``,
``workflow_id``, ``state_dir``, ``concurrency`` and optionally ``profile_keys``. Without profile
keys it makes one incremental poll run; with them, one event run per key, one after another. The
list of result summaries is written to RESULT (through a rename) at the end, so a killed process
leaves no result.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def main(config_path: str, result_path: str) -> int:
    from airflow_provider_broadbean import Broadbean, RunOptions
    from airflow_provider_broadbean.state import JsonFileStateStore

    config = json.loads(Path(config_path).read_text(encoding="utf-8"))
    events = config.get("profile_keys")
    summaries = []
    for profile_key in events if events is not None else [None]:
        result = Broadbean.create_profiles_in_broadbean(
            workflow_id=config["workflow_id"],
            logics=[],
            connector_auth={"secret_key": config["hub_secret"], "api_url": config["hub_url"]},
            hrflow_auth={
                "api_secret": config["api_secret"],
                "api_user": config["api_user"],
                "api_url": config["hrflow_url"],
            },
            pull_parameters={"source_key": config["source_key"], "profile_key": profile_key},
            push_parameters={"client_id": "123", "source_id": "board1", "job_id": "J-1"},
            incremental=events is None,
            state_store=JsonFileStateStore(config["state_dir"]),
            options=RunOptions(concurrency=config["concurrency"]),
        )
        summaries.append(result.summary(max_keys=10_000))
    target = Path(result_path)
    temporary = target.with_name(f".{target.name}.tmp")
    temporary.write_text(json.dumps(summaries), encoding="utf-8")
    os.replace(temporary, target)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))

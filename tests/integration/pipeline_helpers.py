"""Helpers for running the action against the sandbox with the public entry point."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airflow_provider_broadbean import Broadbean
from airflow_provider_broadbean.pipeline import RunOptions
from airflow_provider_broadbean.result import RunResult
from airflow_provider_broadbean.state import JsonFileStateStore
from sandbox.config import HRFLOW_API_SECRET, HRFLOW_API_USER, HUB_SECRET

SOURCE = "a" * 40
PUSH = {"client_id": "123", "source_id": "board1", "job_id": "R-444"}


def person(key: str, name: str, email: str | None, **extra: Any) -> dict[str, Any]:
    return {"key": key, "info": {"full_name": name, "email": email}, **extra}


def run_action(sandbox: Any, state_dir: Path, **overrides: Any) -> RunResult:
    """Call ``Broadbean.create_profiles_in_broadbean`` against the sandbox, with overrides."""
    pull = overrides.pop("pull_parameters", {"source_key": SOURCE})
    push = overrides.pop("push_parameters", PUSH)
    options = overrides.pop("options", RunOptions(concurrency=2))
    arguments: dict[str, Any] = {
        "workflow_id": "test-workflow",
        "logics": [],
        "connector_auth": {"secret_key": HUB_SECRET, "api_url": sandbox.hub_url},
        "hrflow_auth": {
            "api_secret": HRFLOW_API_SECRET,
            "api_user": HRFLOW_API_USER,
            "api_url": sandbox.hrflow_url,
        },
        "pull_parameters": pull,
        "push_parameters": push,
        "state_store": JsonFileStateStore(state_dir),
        "options": options,
    }
    arguments.update(overrides)
    return Broadbean.create_profiles_in_broadbean(**arguments)


def accepted_emails(sandbox: Any) -> list[str]:
    return sorted(c["body"]["candidate"]["email"] for c in sandbox.hub.accepted())

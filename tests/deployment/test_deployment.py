"""The event DAG in a real deployment, triggered through the REST API, with its task logs checked."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from airflow_provider_broadbean.signing import signature
from sandbox import config
from tests.deployment.conftest import Deployment

pytestmark = pytest.mark.deployment

DAG_ID = "hrflow_profile_to_broadbean"


def wait_for_dag(deployment: Deployment, dag_id: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if deployment.api("GET", f"/dags/{dag_id}").status_code == 200:
            return
        time.sleep(2)
    raise AssertionError(f"DAG {dag_id} was not parsed in {timeout} s")


def run_to_end(deployment: Deployment, conf: dict[str, Any], timeout: float = 240) -> dict[str, Any]:
    wait_for_dag(deployment, DAG_ID)
    assert deployment.api("PATCH", f"/dags/{DAG_ID}", json={"is_paused": False}).ok
    created = deployment.api("POST", f"/dags/{DAG_ID}/dagRuns", json={"logical_date": None, "conf": conf})
    assert created.status_code == 200, created.text
    run_id = created.json()["dag_run_id"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = deployment.api("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}").json()
        if run["state"] in {"success", "failed"}:
            return dict(run)
        time.sleep(2)
    raise AssertionError(f"run {run_id} did not finish in {timeout} s")


def secrets_and_signatures(deployment: Deployment) -> list[str]:
    """The secrets, and every signature the hub saw (replayable for five minutes)."""
    values = [config.HUB_SECRET, config.HRFLOW_API_SECRET]
    for request in deployment.sandbox.hub.requests():
        if request.get("signature_time") and request.get("source"):
            values.append(signature(config.HUB_SECRET, request["source"], int(request["signature_time"])))
    return values


def profile_with_cv(deployment: Deployment) -> dict[str, Any]:
    for profile in deployment.sandbox.hrflow.profiles(config.SOURCE_KEY):
        if (profile.get("info") or {}).get("email") and any(
            (a or {}).get("type") == "original" for a in profile.get("attachments") or []
        ):
            return profile
    raise AssertionError("no seeded profile with a CV")


def test_rest_api_trigger_delivers_and_logs_hold_no_secret(deployment: Deployment) -> None:
    profile = profile_with_cv(deployment)
    conf = {
        "workflow_id": "deployment-test",
        "source_key": config.SOURCE_KEY,
        "profile_key": profile["key"],
        "client_id": "123",
        "source_id": "board1",
        "job_id": "R-444",
    }
    run = run_to_end(deployment, conf)
    assert run["state"] == "success", deployment.output.read_text()[-3000:]

    [stored] = [c for c in deployment.sandbox.hub.accepted() if c["body"]["context"]["job_id"] == "R-444"]
    assert stored["body"]["candidate"]["email"] == profile["info"]["email"].strip()
    assert stored["body"]["candidate"]["documents"][0]["type"] == "cv"

    xcom = deployment.api(
        "GET",
        f"/dags/{DAG_ID}/dagRuns/{run['dag_run_id']}/taskInstances/create_profiles_in_broadbean"
        "/xcomEntries/return_value",
    )
    assert xcom.status_code == 200, xcom.text
    assert stored["transaction_id"] in xcom.text

    rendered = deployment.api(
        "GET", f"/dags/{DAG_ID}/dagRuns/{run['dag_run_id']}/taskInstances/create_profiles_in_broadbean"
    )
    logs = deployment.log_files()
    task_logs = [path for path in logs if f"dag_id={DAG_ID}" in str(path)]
    assert task_logs, f"no task log among {logs}"
    assert any(profile["key"] in path.read_text(errors="replace") for path in task_logs)
    for secret in secrets_and_signatures(deployment):
        for path in logs:
            assert secret not in path.read_text(errors="replace"), f"a secret is in {path}"
        assert secret not in xcom.text
        assert secret not in rendered.text
        assert secret not in json.dumps(run)


def test_a_hub_reply_echoing_the_signature_is_not_logged(deployment: Deployment) -> None:
    """Error path: a proxy page that echoes the request headers back, then a retry that succeeds."""
    profile = profile_with_cv(deployment)
    now = int(time.time())
    candidates = [signature(config.HUB_SECRET, "board1", now + delta) for delta in range(-5, 60)]
    echoed = {"success": 0, "error": "bad request headers: X-CHUB-SIGNATURE=" + ",".join(candidates)}
    deployment.sandbox.hub.enqueue({"status": 400, "body": json.dumps(echoed)})
    seen_before = len(deployment.sandbox.hub.requests())
    conf = {
        "workflow_id": "deployment-echo",
        "source_key": config.SOURCE_KEY,
        "profile_key": profile["key"],
        "client_id": "123",
        "source_id": "board1",
        "job_id": "R-555",
    }
    try:
        run = run_to_end(deployment, conf)
    finally:
        deployment.sandbox.hub.clear_faults()
    assert run["state"] == "success"  # the first try failed on the echo, the retry delivered

    first = next(r for r in deployment.sandbox.hub.requests()[seen_before:] if r["path"] == "/candidate")
    echoed_signature = signature(config.HUB_SECRET, "board1", int(first["signature_time"]))
    assert echoed_signature in candidates
    task_logs = [
        path for path in deployment.log_files() if "deployment-echo" in path.read_text(errors="replace")
    ]
    assert any(
        "bad request headers" in p.read_text(errors="replace") and "***" in p.read_text(errors="replace")
        for p in task_logs
    )
    for path in deployment.log_files():
        text = path.read_text(errors="replace")
        for value in (echoed_signature, config.HUB_SECRET, config.HRFLOW_API_SECRET):
            assert value not in text, f"a secret or a live signature is in {path}"

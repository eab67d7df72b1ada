"""Airflow retries and the Variable state store, through ``dag.test()`` on a real metadata database.

- A try that delivers some profiles and then fails is retried in the same DAG run; the retry sends
  only what the failed try did not deliver (``dags/broadbean_delivery_retry.py``, the shipped
  operator with ``fail_on_partial``).
- The case ``retry_after_commit.md`` through the shipped event DAG: a reply lost after the hub
  stored the candidate, then a re-run with the same conf: one candidate.
- A state write that does not land fails the task (and so sends nothing).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from sandbox import config
from tests.delivery.helpers import accepted_by_email, candidate_posts, email_of, person, profile_key
from tests.integration.airflow_helpers import point_connections_at, read_state, run_dag

pytestmark = [pytest.mark.airflow, pytest.mark.usefixtures("airflow_env")]

TEST_DAGS = Path(__file__).parent / "dags"
LOCAL_BUNDLE = "airflow.dag_processing.bundles.local.LocalDagBundle"
RETRY_DAG = "broadbean_delivery_retry"
SOURCE = "e" * 40


@pytest.fixture
def airflow_sandbox(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Connections to the sandbox (one attempt per candidate), and this folder's DAGs as a bundle."""
    point_connections_at(sandbox, monkeypatch)
    monkeypatch.setenv(
        "AIRFLOW_CONN_BROADBEAN_DEFAULT",
        json.dumps(
            {
                "conn_type": "broadbean",
                "host": sandbox.hub_url,
                "password": config.HUB_SECRET,
                "extra": {"max_attempts": 1, "timeout": 2},
            }
        ),
    )
    bundles = [
        {"name": "dags-folder", "classpath": LOCAL_BUNDLE, "kwargs": {}},
        {"name": "broadbean-delivery-tests", "classpath": LOCAL_BUNDLE, "kwargs": {"path": str(TEST_DAGS)}},
    ]
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps(bundles))
    sandbox.hrflow.add_source(SOURCE, "Airflow delivery tests")
    return sandbox


def run_test_dag(conf: dict[str, Any]) -> tuple[str, dict[str, Any] | None, int]:
    """Run the test DAG once; its state, the last try's result summary, and the number of tries."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    bag = DagBag(str(TEST_DAGS))
    assert not bag.import_errors, bag.import_errors
    dag_run = bag.get_dag(RETRY_DAG).test(run_conf=conf)
    with create_session() as session:
        ti = session.query(TaskInstance).filter_by(dag_id=RETRY_DAG, run_id=dag_run.run_id).one()
        row = (
            session.query(XComModel)
            .filter_by(dag_id=RETRY_DAG, run_id=dag_run.run_id, key="return_value")
            .one_or_none()
        )
        value = row.value if row is not None else None
        tries = int(ti.try_number)
    return str(dag_run.state), json.loads(value) if isinstance(value, str) else value, tries


def test_a_retry_does_not_resend_what_the_failed_try_delivered(airflow_sandbox: Any) -> None:
    keys = []
    for index in range(1, 5):
        key = profile_key(index)
        stamp = f"2026-05-04T09:0{index}:00+0000"
        airflow_sandbox.hrflow.put_profile(
            SOURCE, person(key, f"Person {index}", email_of(index), created_at=stamp, updated_at=stamp)
        )
        keys.append(key)
    # First try, one profile at a time, oldest first: two delivered, then the hub fails hard.
    airflow_sandbox.hub.enqueue({"action": "pass"}, {"action": "pass"}, {"status": 503}, {"status": 503})
    workflow_id = f"retry-{uuid.uuid4().hex[:8]}"

    state, summary, tries = run_test_dag({"workflow_id": workflow_id, "source_key": SOURCE})

    assert state == "success" and tries == 2
    assert summary is not None
    assert summary["events"]["skipped_already_delivered"] == 2
    assert summary["events"]["write_success"] == 2
    assert sorted(summary["delivered"]) == keys[2:]
    assert accepted_by_email(airflow_sandbox) == {email_of(index): 1 for index in range(1, 5)}
    assert len(candidate_posts(airflow_sandbox)) == 6  # 4 in the failed try, 2 in the retry
    ledger = read_state(workflow_id)
    assert ledger is not None and ledger["version"] == 1
    assert sorted(entry.split("|")[0] for entry in ledger["delivered"]) == keys
    assert ledger["pending"] == {} and ledger["retry"] == {}


def test_reply_lost_after_commit_then_a_rerun_gives_one_candidate(airflow_sandbox: Any) -> None:
    """``retry_after_commit.md`` through the shipped event DAG."""
    key = "f000000000000000000000000000000000000001"
    airflow_sandbox.hrflow.put_profile(
        SOURCE, {"key": key, "info": {"full_name": "Dup Example", "email": "dup@example.test"}}
    )
    airflow_sandbox.hub.enqueue({"action": "drop_after_commit"})
    conf = {
        "workflow_id": f"dup-{uuid.uuid4().hex[:8]}",
        "source_key": SOURCE,
        "profile_key": key,
        "client_id": "123",
        "source_id": "board1",
        "job_id": "J-1",
    }

    state, first = run_dag("hrflow_profile_to_broadbean", conf)
    assert state == "success"  # an unconfirmed send is a warning: retrying cannot settle it
    assert first is not None and first["unconfirmed"] == [key] and first["events"]["unconfirmed"] == 1
    assert list(read_state(conf["workflow_id"])["pending"]) == [f"{key}|J-1"]  # type: ignore[index]

    state, rerun = run_dag("hrflow_profile_to_broadbean", conf)
    assert state == "success"
    assert rerun is not None and rerun["events"]["skipped_unconfirmed"] == 1 and rerun["unconfirmed"] == [key]
    assert accepted_by_email(airflow_sandbox) == {"dup@example.test": 1}
    assert len(candidate_posts(airflow_sandbox)) == 1


def test_a_state_write_that_does_not_land_fails_the_task(
    airflow_sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An environment variable shadows the state Variable: writes go to the database, reads do not."""
    airflow_sandbox.hrflow.put_profile(SOURCE, person(profile_key(1), "Person 1", email_of(1)))
    workflow_id = f"shadowed-{uuid.uuid4().hex[:8]}"
    shadow = {"version": 1, "workflow_id": workflow_id, "delivered": {}, "pending": {}, "retry": {}}
    monkeypatch.setenv(f"AIRFLOW_VAR_BROADBEAN_STATE__{workflow_id.upper()}", json.dumps(shadow))

    state, summary, tries = run_test_dag({"workflow_id": workflow_id, "source_key": SOURCE})

    assert state == "failed" and tries == 3 and summary is None
    assert candidate_posts(airflow_sandbox) == []  # the pending mark did not land: nothing was sent

"""The fan-out DAG through ``dag.test()`` on a real metadata database, against the sandbox.

``hrflow_source_to_broadbean_mapped`` plans batches, sends each in a mapped task with its own state
shard (an Airflow Variable), and commits the shards into the workflow's state.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest

from tests.integration.airflow_helpers import get_dag, point_connections_at, read_state

pytestmark = [pytest.mark.airflow, pytest.mark.usefixtures("airflow_env")]

DAG_ID = "hrflow_source_to_broadbean_mapped"
SOURCE = "b" * 40
PUSH = {"client_id": "123", "source_id": "board1", "job_id": "R-444"}


@pytest.fixture
def airflow_sandbox(airflow_env: dict[str, str], sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    point_connections_at(sandbox, monkeypatch)
    sandbox.hrflow.add_source(SOURCE, "Fan-out tests")
    return sandbox


def key_of(index: int) -> str:
    return f"{index:040x}"


def email_of(index: int) -> str:
    return f"fan{index:03d}@example.test"


def put_person(sandbox: Any, index: int, *, email: bool = True, minute: int | None = None) -> None:
    """Profile ``index``, updated at 09:<index> (or ``minute``) on 4 May 2026."""
    stamp = f"2026-05-04T09:{index if minute is None else minute:02d}:00+0000"
    info = {"full_name": f"Fan Person {index}", "email": email_of(index) if email else None}
    sandbox.hrflow.put_profile(
        SOURCE, {"key": key_of(index), "info": info, "created_at": stamp, "updated_at": stamp}
    )


@dataclass
class TaskRun:
    """One task instance of a DAG run: its state and its XComs (``return_value`` and any other)."""

    state: str
    xcom: dict[str, Any]

    @property
    def value(self) -> Any:
        return self.xcom.get("return_value")


Tasks = dict[tuple[str, int], TaskRun]


def run_mapped(conf: dict[str, Any]) -> tuple[str, Tasks]:
    """Run the DAG once; its state, and each task instance (by task id and map index)."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    dag_run = get_dag(DAG_ID).test(run_conf=conf)
    tasks: Tasks = {}
    with create_session() as session:
        for ti in session.query(TaskInstance).filter_by(dag_id=DAG_ID, run_id=dag_run.run_id):
            rows = session.query(XComModel).filter_by(
                dag_id=DAG_ID, run_id=dag_run.run_id, task_id=ti.task_id, map_index=ti.map_index
            )
            xcom = {
                row.key: json.loads(row.value) if isinstance(row.value, str) else row.value for row in rows
            }
            tasks[(ti.task_id, ti.map_index)] = TaskRun(str(ti.state), xcom)
    return str(dag_run.state), tasks


def shard_variables(workflow_id: str) -> list[str]:
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(Variable.key).filter(
            Variable.key.like(f"broadbean_state__{workflow_id}__shard__%")
        )
        return sorted(row[0] for row in rows)


def plan_of(tasks: Tasks) -> dict[str, Any]:
    """The planning step's summary (its XCom ``plan``); its return value is the batches."""
    return dict(tasks[("plan", -1)].xcom["plan"])


def mapped_states(tasks: Tasks) -> dict[int, str]:
    return {
        index: run.state for (task, index), run in tasks.items() if task == "create_profiles_in_broadbean"
    }


def accepted_by_email(sandbox: Any) -> Counter[str]:
    return Counter(record["body"]["candidate"]["email"] for record in sandbox.hub.accepted())


def test_mapped_dag_parses_with_the_declared_shape() -> None:
    dag = get_dag(DAG_ID)
    assert dag.max_active_runs == 1
    assert dag.default_args["retries"] > 0
    assert {"batch_size", "max_batches", "workflow_id", "source_key", "job_id"} <= set(dag.params)
    assert dag.task_dict["commit"].trigger_rule == "none_failed"
    assert dag.task_dict["plan"].downstream_task_ids == {"create_profiles_in_broadbean", "commit"}
    assert dag.task_dict["create_profiles_in_broadbean"].downstream_task_ids == {"commit"}


def test_batches_fan_out_and_every_profile_goes_once(airflow_sandbox: Any) -> None:
    for index in range(25):
        put_person(airflow_sandbox, index)
    workflow_id = f"mapped-{uuid.uuid4().hex[:8]}"
    conf = {"workflow_id": workflow_id, "source_key": SOURCE, "batch_size": 10, **PUSH}

    state, tasks = run_mapped(conf)

    assert state == "success"
    assert mapped_states(tasks) == {0: "success", 1: "success", 2: "success"}
    assert [len(tasks[("create_profiles_in_broadbean", i)].value["delivered"]) for i in range(3)] == [
        10,
        10,
        5,
    ]
    assert accepted_by_email(airflow_sandbox) == Counter({email_of(index): 1 for index in range(25)})
    plan = plan_of(tasks)
    assert plan["batches"] == 3 and plan["planned"] == 25 and plan["cursor"] == "2026-05-04T09:24:00+00:00"
    commit = tasks[("commit", -1)].value
    assert commit["status"] == "success"
    assert commit["delivered_count"] == 25 and commit["batches"] == 3 and commit["deliveries_merged"] == 25
    document = read_state(workflow_id)
    assert document is not None and document["version"] == 1
    assert sorted(entry.split("|")[0] for entry in document["delivered"]) == [key_of(i) for i in range(25)]
    transactions = {
        record["body"]["candidate"]["email"]: record["transaction_id"]
        for record in airflow_sandbox.hub.accepted()
    }
    assert document["delivered"][f"{key_of(7)}|R-444"]["transaction_id"] == transactions[email_of(7)]
    assert document["cursor"] == {"sort_by": "updated_at", "value": "2026-05-04T09:24:00+00:00"}
    assert document["pending"] == {} and document["retry"] == {} and document["shards"] == {}
    assert shard_variables(workflow_id) == []

    state, tasks = run_mapped(conf)

    assert state == "success"
    assert mapped_states(tasks) == {-1: "skipped"}  # no batch: the mapped task does not expand
    plan = plan_of(tasks)
    # The overlap of 10 minutes lists 09:14 to 09:24 again; the ledger drops them.
    assert plan["planned"] == 0 and plan["skipped_already_delivered"] == 11
    assert tasks[("commit", -1)].state == "success"
    assert tasks[("commit", -1)].value["delivered_count"] == 0
    assert len(airflow_sandbox.hub.accepted()) == 25
    assert shard_variables(workflow_id) == []


def test_a_failed_batch_leaves_shards_the_next_run_merges(airflow_sandbox: Any) -> None:
    # Batch 1 (profiles 10 to 19) has no e-mail addresses: every profile fails, so its task fails.
    for index in range(25):
        put_person(airflow_sandbox, index, email=not 10 <= index < 20)
    workflow_id = f"mapped-fail-{uuid.uuid4().hex[:8]}"
    conf = {"workflow_id": workflow_id, "source_key": SOURCE, "batch_size": 10, **PUSH}

    state, tasks = run_mapped(conf)

    assert state == "failed"
    assert mapped_states(tasks) == {0: "success", 1: "failed", 2: "success"}
    assert tasks[("commit", -1)].state == "upstream_failed"
    sent = accepted_by_email(airflow_sandbox)
    assert sent == Counter({email_of(index): 1 for index in [*range(10), *range(20, 25)]})
    document = read_state(workflow_id)
    assert document is not None
    assert document["delivered"] == {} and document["cursor"] is None
    assert sorted(entry["state"] for entry in document["shards"].values()) == ["planned"] * 3
    assert shard_variables(workflow_id) == sorted(f"broadbean_state__{name}" for name in document["shards"])

    # The profiles are corrected (an edit moves them up in updated_at), and the next run goes.
    for index in range(10, 20):
        put_person(airflow_sandbox, index, minute=30 + index)
    state, tasks = run_mapped(conf)

    assert state == "success"
    plan = plan_of(tasks)
    assert sorted(plan["merged_shards"]) == sorted(document["shards"])
    assert plan["skipped_already_delivered"] == 15 and plan["planned"] == 10 and plan["batches"] == 1
    assert accepted_by_email(airflow_sandbox) == Counter({email_of(index): 1 for index in range(25)})
    final = read_state(workflow_id)
    assert final is not None
    assert sorted(entry.split("|")[0] for entry in final["delivered"]) == [key_of(i) for i in range(25)]
    assert final["shards"] == {} and final["pending"] == {} and final["retry"] == {}
    assert final["cursor"]["value"] == "2026-05-04T09:49:00+00:00"
    assert shard_variables(workflow_id) == []


def test_max_batches_leaves_the_rest_for_the_next_run(airflow_sandbox: Any) -> None:
    for index in range(25):
        put_person(airflow_sandbox, index)
    workflow_id = f"mapped-max-{uuid.uuid4().hex[:8]}"
    conf = {"workflow_id": workflow_id, "source_key": SOURCE, "batch_size": 10, "max_batches": 2, **PUSH}

    state, tasks = run_mapped(conf)

    assert state == "success"
    assert plan_of(tasks)["deferred"] == 5
    assert len(airflow_sandbox.hub.accepted()) == 20
    # The cursor stops at the newest profile sent, so the five left are listed next time.
    assert read_state(workflow_id)["cursor"]["value"] == "2026-05-04T09:19:00+00:00"  # type: ignore[index]

    state, tasks = run_mapped(conf)

    assert state == "success"
    assert plan_of(tasks)["planned"] == 5 and plan_of(tasks)["deferred"] == 0
    assert accepted_by_email(airflow_sandbox) == Counter({email_of(index): 1 for index in range(25)})
    assert read_state(workflow_id)["cursor"]["value"] == "2026-05-04T09:24:00+00:00"  # type: ignore[index]

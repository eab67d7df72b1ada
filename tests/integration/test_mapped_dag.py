"""The fan-out DAG through ``dag.test()`` on a real metadata database, against the sandbox.

``hrflow_source_to_broadbean_mapped`` plans batches, sends each in a mapped task with its own state
shard (an Airflow Variable), and commits the shards into the workflow's state.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
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


def plain(output: str) -> str:
    """Captured output without terminal colours (Airflow 3.0 prints failures as coloured tracebacks)."""
    return re.sub(r"\x1b\[[0-9;]*m", "", output)


def key_of(index: int) -> str:
    return f"{index:040x}"


def email_of(index: int) -> str:
    return f"fan{index:03d}@example.test"


GONE_CV = "fan-cv.pdf"
"""A CV the file server does not have until a test puts it there: its profiles fail transiently."""


def put_person(
    sandbox: Any, index: int, *, email: bool = True, minute: int | None = None, cv: bool = False
) -> None:
    """Profile ``index``, updated at 09:<index> (or ``minute``) on 4 May 2026, with a CV if ``cv``."""
    stamp = f"2026-05-04T09:{index if minute is None else minute:02d}:00+0000"
    info = {"full_name": f"Fan Person {index}", "email": email_of(index) if email else None}
    profile: dict[str, Any] = {"key": key_of(index), "info": info, "created_at": stamp, "updated_at": stamp}
    if cv:
        profile["attachments"] = [
            {"type": "original", "original_file_name": "cv.pdf", "public_url": "{files}/" + GONE_CV}
        ]
    sandbox.hrflow.put_profile(SOURCE, profile)


@dataclass
class TaskRun:
    """One task instance of a DAG run: its state and its XComs (``return_value`` and any other)."""

    state: str
    xcom: dict[str, Any]

    @property
    def value(self) -> Any:
        return self.xcom.get("return_value")


Tasks = dict[tuple[str, int], TaskRun]


def run_mapped(conf: dict[str, Any], **test_options: Any) -> tuple[str, Tasks]:
    """Run the DAG once; its state, and each task instance (by task id and map index).

    :param test_options: passed to ``dag.test()``: ``logical_date`` and ``run_after`` both given the
        same moment twice run the same DAG run id again (a cleared run); ``mark_success_pattern``
        marks tasks successful without running them.
    """
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    dag_run = get_dag(DAG_ID).test(run_conf=conf, **test_options)
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


def retry_list(workflow_id: str) -> dict[str, Any]:
    document = read_state(workflow_id)
    assert document is not None
    return dict(document["retry"])


def test_mapped_dag_parses_with_the_declared_shape() -> None:
    dag = get_dag(DAG_ID)
    assert dag.max_active_runs == 1
    assert dag.default_args["retries"] > 0
    assert {"batch_size", "max_batches", "workflow_id", "source_key", "job_id"} <= set(dag.params)
    assert dag.params.get_param("batch_size").schema["maximum"] == 10_000
    assert dag.task_dict["commit"].trigger_rule == "all_done"
    assert dag.task_dict["plan"].downstream_task_ids == {"create_profiles_in_broadbean", "commit"}
    assert dag.task_dict["create_profiles_in_broadbean"].downstream_task_ids == {"commit"}


@pytest.mark.parametrize(("value", "batch_size"), [("250", 250), ("ten", 100), ("0", 100), ("20000", 100)])
def test_the_batch_size_variable_cannot_break_the_dag_file(
    monkeypatch: pytest.MonkeyPatch, value: str, batch_size: int
) -> None:
    monkeypatch.setenv("BROADBEAN_BATCH_SIZE", value)
    dag = get_dag(DAG_ID)  # no import error
    assert dag.params["batch_size"] == batch_size


def test_batches_fan_out_and_every_profile_goes_once(
    airflow_sandbox: Any, capfd: pytest.CaptureFixture[str]
) -> None:
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
    # The commit reads the mapped results (three, then none) without a failed XCom lookup.
    output = "".join(capfd.readouterr())
    assert "Fan-out of workflow" in output and "XCom not found" not in output


def test_a_batch_of_invalid_profiles_fails_the_run_but_not_the_next(airflow_sandbox: Any) -> None:
    # Batch 0 (profiles 0 to 9, the least recently updated) has no e-mail addresses: every profile
    # fails to format, for good, so its task fails (after its retries).
    for index in range(25):
        put_person(airflow_sandbox, index, email=index >= 10)
    workflow_id = f"mapped-invalid-{uuid.uuid4().hex[:8]}"
    conf = {"workflow_id": workflow_id, "source_key": SOURCE, "batch_size": 10, **PUSH}

    state, tasks = run_mapped(conf)

    assert state == "failed"
    assert mapped_states(tasks) == {0: "failed", 1: "success", 2: "success"}
    commit = tasks[("commit", -1)]
    assert commit.state == "failed"  # the run shows the failed batch, once the state is committed
    assert commit.value["failed_batches"] == 1 and commit.value["batches"] == 2
    assert commit.value["delivered_count"] == 15 and commit.value["deliveries_merged"] == 15
    assert accepted_by_email(airflow_sandbox) == Counter({email_of(index): 1 for index in range(10, 25)})
    document = read_state(workflow_id)
    assert document is not None
    assert sorted(entry.split("|")[0] for entry in document["delivered"]) == [
        key_of(i) for i in range(10, 25)
    ]
    # The cursor moves past the invalid profiles: they are not retried (an edit brings them back).
    assert document["cursor"]["value"] == "2026-05-04T09:24:00+00:00"
    assert document["retry"] == {} and document["pending"] == {} and document["shards"] == {}
    assert shard_variables(workflow_id) == []

    state, tasks = run_mapped(conf)

    assert state == "success"
    assert plan_of(tasks)["planned"] == 0 and plan_of(tasks)["retried"] == 0
    assert tasks[("commit", -1)].state == "success"
    assert len(airflow_sandbox.hub.accepted()) == 15


def test_a_batch_that_fails_transiently_is_retried_by_the_next_run(airflow_sandbox: Any) -> None:
    # Batch 1 (profiles 10 to 19) has a CV the file server cannot serve yet: every profile of the
    # batch fails, transiently (cv_policy "fail"), so its task fails after its retries.
    for index in range(25):
        put_person(airflow_sandbox, index, cv=10 <= index < 20)
    workflow_id = f"mapped-transient-{uuid.uuid4().hex[:8]}"
    conf = {"workflow_id": workflow_id, "source_key": SOURCE, "batch_size": 10, **PUSH}

    state, tasks = run_mapped(conf)

    assert state == "failed"
    assert mapped_states(tasks) == {0: "success", 1: "failed", 2: "success"}
    assert tasks[("commit", -1)].state == "failed"
    assert tasks[("commit", -1)].value["failed_batches"] == 1
    document = read_state(workflow_id)
    assert document is not None
    assert document["cursor"]["value"] == "2026-05-04T09:24:00+00:00"
    assert sorted(document["retry"]) == [key_of(index) for index in range(10, 20)]
    assert "CV could not be downloaded" in document["retry"][key_of(12)]["error"]
    assert document["shards"] == {} and shard_variables(workflow_id) == []

    airflow_sandbox.hrflow.put_file(GONE_CV, b"%PDF-1.4 fan-out\n")
    state, tasks = run_mapped(conf)

    assert state == "success"
    plan = plan_of(tasks)
    assert plan["retried"] == 10 and plan["planned"] == 10 and plan["batches"] == 1
    assert accepted_by_email(airflow_sandbox) == Counter({email_of(index): 1 for index in range(25)})
    assert retry_list(workflow_id) == {}


def test_batches_that_never_ran_are_retried_by_the_next_run(
    airflow_sandbox: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    for index in range(25):
        put_person(airflow_sandbox, index)
    workflow_id = f"mapped-skipped-{uuid.uuid4().hex[:8]}"
    conf = {"workflow_id": workflow_id, "source_key": SOURCE, "batch_size": 10, **PUSH}

    # The mapped tasks are marked successful without running (as a person can in the UI): no result.
    state, tasks = run_mapped(conf, mark_success_pattern="create_profiles_in_broadbean")

    assert state == "failed"
    assert mapped_states(tasks) == {0: "success", 1: "success", 2: "success"}
    commit = tasks[("commit", -1)]
    assert commit.state == "failed" and commit.value["failed_batches"] == 3 and commit.value["batches"] == 0
    assert airflow_sandbox.hub.accepted() == []
    document = read_state(workflow_id)
    assert document is not None
    assert document["cursor"]["value"] == "2026-05-04T09:24:00+00:00"
    assert sorted(document["retry"]) == [key_of(index) for index in range(25)]
    assert document["shards"] == {} and shard_variables(workflow_id) == []
    output = "".join(capfd.readouterr())
    assert "3 of 3 batches failed or did not run" in plain(output) and "XCom not found" not in output

    state, tasks = run_mapped(conf)

    assert state == "success"
    assert plan_of(tasks)["retried"] == 25 and plan_of(tasks)["planned"] == 25
    assert accepted_by_email(airflow_sandbox) == Counter({email_of(index): 1 for index in range(25)})
    assert retry_list(workflow_id) == {}


def test_a_cleared_run_sends_nothing_twice(airflow_sandbox: Any) -> None:
    # Batch 1 fails (its CVs cannot be fetched yet), the others deliver; the commit does not run.
    for index in range(25):
        put_person(airflow_sandbox, index, cv=10 <= index < 20)
    workflow_id = f"mapped-cleared-{uuid.uuid4().hex[:8]}"
    conf = {"workflow_id": workflow_id, "source_key": SOURCE, "batch_size": 10, **PUSH}
    moment = datetime(2026, 5, 4, 10, 0, tzinfo=timezone.utc)
    same_run = {"logical_date": moment, "run_after": moment}

    state, tasks = run_mapped(conf, mark_success_pattern="commit", **same_run)

    assert mapped_states(tasks) == {0: "success", 1: "failed", 2: "success"}
    assert len(airflow_sandbox.hub.accepted()) == 15
    assert len(shard_variables(workflow_id)) == 3  # not committed: the shards are still there

    # Before the run is cleared the source changes: the CV is back, profile 0 is edited and ten new
    # profiles arrive, so the run plans other batches under the same map indexes.
    airflow_sandbox.hrflow.put_file(GONE_CV, b"%PDF-1.4 fan-out\n")
    put_person(airflow_sandbox, 0, minute=50)
    for index in range(25, 35):
        put_person(airflow_sandbox, index, minute=index + 5)
    state, tasks = run_mapped(conf, **same_run)  # the same DAG run id, run again

    assert state == "success"
    plan = plan_of(tasks)
    assert len(plan["merged_shards"]) == 3 and plan["skipped_already_delivered"] == 15
    assert plan["retried"] == 10 and plan["planned"] == 20 and plan["batches"] == 2
    assert mapped_states(tasks) == {0: "success", 1: "success"}
    assert accepted_by_email(airflow_sandbox) == Counter({email_of(index): 1 for index in range(35)})
    document = read_state(workflow_id)
    assert document is not None
    assert len(document["delivered"]) == 35 and document["retry"] == {} and document["shards"] == {}
    assert shard_variables(workflow_id) == []


def test_a_failed_plan_commits_nothing(airflow_sandbox: Any) -> None:
    workflow_id = f"mapped-noplan-{uuid.uuid4().hex[:8]}"
    conf = {"workflow_id": workflow_id, "source_key": "c" * 40, "batch_size": 10, **PUSH}  # no such source

    state, tasks = run_mapped(conf)

    assert state == "failed"
    assert tasks[("plan", -1)].state == "failed" and tasks[("plan", -1)].xcom["plan"] == {"complete": False}
    assert mapped_states(tasks) == {-1: "upstream_failed"}
    assert tasks[("commit", -1)].state == "failed"  # refused: nothing to commit
    assert read_state(workflow_id) is None
    assert airflow_sandbox.hub.accepted() == []


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

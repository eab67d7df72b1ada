"""Running the repository's DAGs with ``dag.test()`` on the test metadata database."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from sandbox import config


def point_connections_at(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """``hrflow_default`` and ``broadbean_default`` as environment connections to the sandbox."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_HRFLOW_DEFAULT",
        json.dumps(
            {
                "conn_type": "hrflow",
                "host": sandbox.hrflow_url,
                "login": config.HRFLOW_API_USER,
                "password": config.HRFLOW_API_SECRET,
            }
        ),
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_BROADBEAN_DEFAULT",
        json.dumps({"conn_type": "broadbean", "host": sandbox.hub_url, "password": config.HUB_SECRET}),
    )


def get_dag(dag_id: str) -> Any:
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 3.0
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef]

    bag = DagBag(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    assert not bag.import_errors, bag.import_errors
    return bag.get_dag(dag_id)


def run_dag(dag_id: str, conf: dict[str, Any] | None = None) -> tuple[str, dict[str, Any] | None]:
    """Run a DAG once with ``dag.test()``; return the run's state and the task's result summary."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    dag = get_dag(dag_id)
    dag_run = dag.test(run_conf=conf or {})
    with create_session() as session:
        row = (
            session.query(XComModel)
            .filter(XComModel.dag_id == dag_id, XComModel.run_id == dag_run.run_id)
            .filter(XComModel.key == "return_value")
            .first()
        )
        value = row.value if row is not None else None
    if isinstance(value, str):
        value = json.loads(value)
    return str(dag_run.state), value


def read_state(workflow_id: str) -> dict[str, Any] | None:
    from airflow.models.variable import Variable

    value = Variable.get(f"broadbean_state__{workflow_id}", default_var=None)
    return json.loads(value) if value is not None else None

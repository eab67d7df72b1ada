"""A DAG of the delivery tests: the shipped operator, polling, with ``fail_on_partial``.

A try that leaves some profiles failed then fails the task, and Airflow retries it in the same DAG
run: the test checks that the retry does not resend what the failed try delivered.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_provider_broadbean.operators.create_profiles import CreateProfilesInBroadbeanOperator

with DAG(
    dag_id="broadbean_delivery_retry",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    render_template_as_native_obj=True,
    default_args={"retries": 2, "retry_delay": timedelta(seconds=1)},
):
    CreateProfilesInBroadbeanOperator(
        task_id="create_profiles_in_broadbean",
        workflow_id="{{ dag_run.conf['workflow_id'] }}",
        source_key="{{ dag_run.conf['source_key'] }}",
        client_id="123",
        source_id="board1",
        job_id="J-1",
        incremental=True,
        concurrency=1,
        fail_on_partial=True,
    )

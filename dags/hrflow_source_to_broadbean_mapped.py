"""Poll an HrFlow source and send its new profiles to Broadbean's Candidate Hub, one mapped task per batch.

The poll of ``hrflow_source_to_broadbean`` spread over dynamic task mapping: ``plan`` lists what
changed since the previous run (plus the profiles that failed transiently) and splits it into
batches of ``batch_size``; ``create_profiles_in_broadbean`` runs once per batch, each mapped task
with its own state shard (an Airflow Variable); ``commit`` merges the shards into the workflow's
state and moves the cursor once every batch went. A run whose batch failed leaves its shards for the
next run to merge: nothing is lost and nothing is sent twice. All state is in Variables and XCom, so
the DAG runs unchanged on the Celery and Kubernetes executors. One run at a time.
Configure it with the Params below or with environment variables ``BROADBEAN_<PARAM>`` given to the
Airflow processes (``BROADBEAN_MAPPED_WORKFLOW_ID`` for the workflow id), and the retry delay as
``BROADBEAN_RETRY_DELAY_SECONDS`` (default 120).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.sdk import DAG, Param, XComArg

from airflow_provider_broadbean.operators.commit_batches import CommitProfileBatchesOperator
from airflow_provider_broadbean.operators.create_profiles import CreateProfilesInBroadbeanOperator
from airflow_provider_broadbean.operators.plan_batches import PlanProfileBatchesOperator


def _default(name: str, fallback: str | None = None) -> str | None:
    return os.environ.get(f"BROADBEAN_{name.upper()}", fallback)


RETRY_DELAY = timedelta(seconds=int(os.environ.get("BROADBEAN_RETRY_DELAY_SECONDS", "120")))


with DAG(
    dag_id="hrflow_source_to_broadbean_mapped",
    description="Poll an HrFlow source and send new profiles to Broadbean, one mapped task per batch",
    schedule=timedelta(minutes=15),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    render_template_as_native_obj=True,
    default_args={"retries": 2, "retry_delay": RETRY_DELAY},
    tags=["hrflow", "broadbean"],
    doc_md=__doc__,
    params={
        "source_key": Param(_default("source_key", ""), type="string", title="HrFlow source key"),
        "job_id": Param(_default("job_id", ""), type="string", title="Job id"),
        "client_id": Param(_default("client_id", ""), type="string", title="Client id"),
        "source_id": Param(_default("source_id", ""), type="string", title="Source id"),
        "shortlist_id": Param(_default("shortlist_id"), type=["null", "string"], title="Shortlist id"),
        "aplitrak_email_address": Param(
            _default("aplitrak_email_address"), type=["null", "string"], title="Aplitrak email address"
        ),
        "workflow_id": Param(
            _default("mapped_workflow_id", "hrflow_source_to_broadbean_mapped"),
            type="string",
            title="Workflow id",
        ),
        "batch_size": Param(
            int(_default("batch_size", "100") or 100),
            type="integer",
            minimum=1,
            title="Profiles per mapped task",
        ),
        "max_batches": Param(
            None,
            type=["null", "integer"],
            minimum=1,
            title="Mapped tasks per run at most",
            description="Empty: no limit. What does not fit waits for the next run.",
        ),
        "persist": Param(True, type="boolean", title="Send to Broadbean"),
    },
) as dag:
    plan = PlanProfileBatchesOperator(
        task_id="plan",
        workflow_id="{{ params.workflow_id }}",
        source_key="{{ params.source_key }}",
        job_id="{{ params.job_id }}",
        batch_size="{{ params.batch_size }}",
        max_batches="{{ params.max_batches }}",
        persist="{{ params.persist }}",
    )
    create = CreateProfilesInBroadbeanOperator.partial(
        task_id="create_profiles_in_broadbean",
        workflow_id="{{ params.workflow_id }}",
        source_key="{{ params.source_key }}",
        client_id="{{ params.client_id }}",
        source_id="{{ params.source_id }}",
        job_id="{{ params.job_id }}",
        shortlist_id="{{ params.shortlist_id }}",
        aplitrak_email_address="{{ params.aplitrak_email_address }}",
        persist="{{ params.persist }}",
    ).expand(profile_keys=plan.output)
    CommitProfileBatchesOperator(
        task_id="commit",
        workflow_id="{{ params.workflow_id }}",
        plan=XComArg(plan, key="plan"),
        results=create.output,
        persist="{{ params.persist }}",
        trigger_rule="none_failed",
    )

"""Poll an HrFlow source and send its new profiles to Broadbean's Candidate Hub, one mapped task per batch.

The poll of ``hrflow_source_to_broadbean`` spread over dynamic task mapping: ``plan`` lists what
changed since the previous run (plus the profiles on the retry list) and splits it into batches of
``batch_size``; ``create_profiles_in_broadbean`` runs once per batch, each mapped task with its own
state shard (an Airflow Variable); ``commit`` merges the shards into the workflow's state and moves
the cursor, whatever happened to the batches. A batch that failed or did not run leaves its
unsettled profiles on the retry list for the next run, and the commit then fails so that the run
shows failed: nothing is lost and nothing is sent twice. All state is in Variables and XCom, so the
DAG runs unchanged on the Celery and Kubernetes executors. One run at a time.
Configure it with the Params below or with environment variables ``BROADBEAN_<PARAM>`` given to the
Airflow processes (``BROADBEAN_MAPPED_WORKFLOW_ID`` for the workflow id), and the retry delay as
``BROADBEAN_RETRY_DELAY_SECONDS`` (default 120). A numeric variable that is not a whole number in
range is ignored (the default applies), so that it cannot break the DAG file.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.sdk import DAG, Param, XComArg

from airflow_provider_broadbean.operators.commit_batches import CommitProfileBatchesOperator
from airflow_provider_broadbean.operators.create_profiles import CreateProfilesInBroadbeanOperator
from airflow_provider_broadbean.operators.plan_batches import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_MAX_BATCHES,
    MAX_BATCH_SIZE,
    PlanProfileBatchesOperator,
)
from airflow_provider_broadbean.operators.rendered import TEXT_FILTERS, text_params


def _default(name: str, fallback: str | None = None) -> str | None:
    return os.environ.get(f"BROADBEAN_{name.upper()}", fallback)


def _whole_default(name: str, fallback: int, *, low: int, high: int | None = None) -> int:
    """A whole-number default from ``BROADBEAN_<NAME>``, or ``fallback`` when it is not one in range.

    The DAG file is parsed by every Airflow process: a typo in an environment variable must not turn
    into an import error that removes the DAG, only into the documented default.
    """
    try:
        value = int(_default(name) or fallback)
    except ValueError:
        return fallback
    return value if value >= low and (high is None or value <= high) else fallback


RETRY_DELAY = timedelta(seconds=_whole_default("retry_delay_seconds", 120, low=0))


with DAG(
    dag_id="hrflow_source_to_broadbean_mapped",
    description="Poll an HrFlow source and send new profiles to Broadbean, one mapped task per batch",
    schedule=timedelta(minutes=15),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    # Native rendering keeps the Params' types; text Params go through TEXT_FILTERS (see text_params).
    render_template_as_native_obj=True,
    user_defined_filters=TEXT_FILTERS,
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
            _whole_default("batch_size", DEFAULT_BATCH_SIZE, low=1, high=MAX_BATCH_SIZE),
            type="integer",
            minimum=1,
            maximum=MAX_BATCH_SIZE,
            title="Profiles per mapped task",
            description=(
                f"1 to {MAX_BATCH_SIZE:,}. Default from BROADBEAN_BATCH_SIZE, or {DEFAULT_BATCH_SIZE} when "
                "that is not a whole number in range."
            ),
        ),
        "max_batches": Param(
            _whole_default("max_batches", DEFAULT_MAX_BATCHES, low=1),
            type=["null", "integer"],
            minimum=1,
            title="Mapped tasks per run at most",
            description=(
                f"Default from BROADBEAN_MAX_BATCHES, or {DEFAULT_MAX_BATCHES}. Empty: as many as Airflow "
                "maps ([core] max_map_length, 1024 by default); a larger number is capped there too. "
                "What does not fit waits for the next run."
            ),
        ),
        "persist": Param(True, type="boolean", title="Send to Broadbean"),
    },
) as dag:
    plan = PlanProfileBatchesOperator(
        task_id="plan",
        **text_params("workflow_id", "source_key", "job_id"),
        batch_size="{{ params.batch_size }}",
        max_batches="{{ params.max_batches }}",
        persist="{{ params.persist }}",
    )
    create = CreateProfilesInBroadbeanOperator.partial(
        task_id="create_profiles_in_broadbean",
        **text_params(
            "workflow_id",
            "source_key",
            "client_id",
            "source_id",
            "job_id",
            "shortlist_id",
            "aplitrak_email_address",
        ),
        persist="{{ params.persist }}",
    ).expand(profile_keys=plan.output)
    CommitProfileBatchesOperator(
        task_id="commit",
        **text_params("workflow_id"),
        plan=XComArg(plan, key="plan"),
        results=create.output,
        persist="{{ params.persist }}",
        trigger_rule="all_done",  # commits what the batches did even when some failed, then fails
    )

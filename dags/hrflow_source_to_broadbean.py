"""Poll an HrFlow source on a schedule and send its new profiles to Broadbean's Candidate Hub.

Runs incrementally: each run reads only the profiles created or changed since the previous one
(plus those that failed transiently), and the delivery ledger keeps an edited profile from being
sent twice for the same job. One run at a time, so two polls never race over the same state.
Configure it with the Params below or with environment variables ``BROADBEAN_<PARAM>`` given to the
Airflow processes (for example ``BROADBEAN_SOURCE_KEY``; the workflow id is
``BROADBEAN_POLL_WORKFLOW_ID``), and the retry delay as ``BROADBEAN_RETRY_DELAY_SECONDS`` (default 120).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.sdk import DAG, Param

from airflow_provider_broadbean.operators.create_profiles import CreateProfilesInBroadbeanOperator
from airflow_provider_broadbean.operators.rendered import TEXT_FILTERS, text_params


def _default(name: str, fallback: str | None = None) -> str | None:
    return os.environ.get(f"BROADBEAN_{name.upper()}", fallback)


RETRY_DELAY = timedelta(seconds=int(os.environ.get("BROADBEAN_RETRY_DELAY_SECONDS", "120")))


with DAG(
    dag_id="hrflow_source_to_broadbean",
    description="Poll an HrFlow source and send new profiles to Broadbean's Candidate Hub",
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
            _default("poll_workflow_id", "hrflow_source_to_broadbean"), type="string", title="Workflow id"
        ),
        "persist": Param(True, type="boolean", title="Send to Broadbean"),
    },
) as dag:
    CreateProfilesInBroadbeanOperator(
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
        mode="poll",
        incremental=True,
    )

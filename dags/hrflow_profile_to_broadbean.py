"""Send one HrFlow profile to Broadbean's Candidate Hub: for manual triggers and webhook relays.

Trigger it from the UI form, or through the REST API with a conf such as
``{"source_key": "...", "profile_key": "...", "job_id": "..."}``, or with the body of an HrFlow
"profile created" webhook as ``{"hrflow_event": {...}}``. Conf keys override the Params of the same
names; an unknown conf key fails the run before anything is read or sent.

Defaults of the Params can be given to the Airflow processes as environment variables
``BROADBEAN_<PARAM NAME IN CAPITALS>`` (for example ``BROADBEAN_CLIENT_ID``), and the first retry
delay as ``BROADBEAN_RETRY_DELAY_SECONDS`` (default 120).
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
    dag_id="hrflow_profile_to_broadbean",
    description="Send one HrFlow profile to Broadbean's Candidate Hub",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    # Native rendering keeps the Params' types; text Params go through TEXT_FILTERS (see text_params).
    render_template_as_native_obj=True,
    user_defined_filters=TEXT_FILTERS,
    # One run at a time: runs share the workflow state, and HrFlow may send two "profile created"
    # events (stored, then parsed) for one profile; the second run then finds it in the ledger.
    max_active_runs=1,
    default_args={"retries": 3, "retry_delay": RETRY_DELAY, "retry_exponential_backoff": True},
    tags=["hrflow", "broadbean"],
    doc_md=__doc__,
    params={
        "source_key": Param(
            _default("source_key"),
            type=["null", "string"],
            title="HrFlow source key",
            description="The HrFlow source that holds the profile. Required unless a webhook event is given.",
            section="Profile",
        ),
        "profile_key": Param(
            None,
            type=["null", "string"],
            title="HrFlow profile key",
            description="The profile to send (its 40-character key). Required unless a webhook event "
            "is given.",
            section="Profile",
        ),
        "hrflow_event": Param(
            None,
            type=["null", "object"],
            title="HrFlow webhook event",
            description="The body of an HrFlow 'profile created' webhook (profile.storing.success or "
            "profile.parsing.success), as a relay forwards it; the source and profile keys are read from it.",
            section="Profile",
        ),
        "job_id": Param(
            _default("job_id", ""),
            type="string",
            minLength=1,
            title="Job id",
            description="The Broadbean job the candidate applied to.",
            section="Job",
        ),
        "shortlist_id": Param(
            _default("shortlist_id"),
            type=["null", "string"],
            title="Shortlist id",
            description="Optional shortlist for the candidate.",
            section="Job",
        ),
        "aplitrak_email_address": Param(
            _default("aplitrak_email_address"),
            type=["null", "string"],
            title="Aplitrak email address",
            description="Optional: the job board's tracking address of the vacancy.",
            section="Job",
        ),
        "client_id": Param(
            _default("client_id", ""),
            type="string",
            minLength=1,
            title="Client id",
            description="Veritone Hire's id of the candidate-importer client mapper.",
            section="Broadbean account",
        ),
        "source_id": Param(
            _default("source_id", ""),
            type="string",
            minLength=1,
            title="Source id",
            description="Veritone Hire's transaction/publisher source id.",
            section="Broadbean account",
        ),
        "workflow_id": Param(
            _default("workflow_id", "hrflow_profile_to_broadbean"),
            type="string",
            minLength=1,
            title="Workflow id",
            description="Stable id under which deliveries are remembered, so a replay sends nothing twice.",
            section="Run",
        ),
        "persist": Param(
            True,
            type="boolean",
            title="Send to Broadbean",
            description="Untick for a dry run: the payload is logged, nothing is sent.",
            section="Run",
        ),
        "incremental": Param(
            False,
            type="boolean",
            title="Incremental",
            description="Only meaningful when polling a source; kept for parity with hrflow-connectors.",
            section="Run",
        ),
    },
) as dag:
    CreateProfilesInBroadbeanOperator(
        task_id="create_profiles_in_broadbean",
        **text_params(
            "workflow_id",
            "source_key",
            "profile_key",
            "client_id",
            "source_id",
            "job_id",
            "shortlist_id",
            "aplitrak_email_address",
        ),
        persist="{{ params.persist }}",
        mode="event",
        incremental="{{ params.incremental }}",
        hrflow_event="{{ params.hrflow_event }}",
        reject_unknown_conf=True,
    )

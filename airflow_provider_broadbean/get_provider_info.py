"""Provider metadata read by Airflow's providers manager in every Airflow process.

This module must stay import-free: Airflow calls :func:`get_provider_info` at start-up of the
scheduler, workers, API server and CLI. Since Airflow 3.2 the connection forms are built from
``conn-fields`` and ``ui-field-behaviour`` declared here, without importing the hooks.
"""

from __future__ import annotations

from typing import Any

PACKAGE_NAME = "airflow-provider-broadbean"
VERSION = "0.1.0"


def get_provider_info() -> dict[str, Any]:
    """Return the provider description Airflow validates against ``provider_info.schema.json``."""
    return {
        "package-name": PACKAGE_NAME,
        "name": "Broadbean (HrFlow.ai to Candidate Hub)",
        "description": "Sends candidate profiles created in HrFlow.ai to Broadbean's Candidate Hub "
        "(Veritone Hire).",
        "versions": [VERSION],
        "integrations": [
            {
                "integration-name": "Broadbean Candidate Hub",
                "external-doc-url": "https://api.adcourier.com/docs/index.cgi?page=candidate_hub",
                "tags": ["service"],
            },
            {
                "integration-name": "HrFlow.ai",
                "external-doc-url": "https://developers.hrflow.ai/",
                "tags": ["service"],
            },
        ],
        "hooks": [
            {
                "integration-name": "Broadbean Candidate Hub",
                "python-modules": ["airflow_provider_broadbean.hooks.broadbean"],
            },
            {
                "integration-name": "HrFlow.ai",
                "python-modules": ["airflow_provider_broadbean.hooks.hrflow"],
            },
        ],
        "operators": [
            {
                "integration-name": "Broadbean Candidate Hub",
                "python-modules": [
                    "airflow_provider_broadbean.operators.create_profiles",
                    "airflow_provider_broadbean.operators.plan_batches",
                    "airflow_provider_broadbean.operators.commit_batches",
                ],
            }
        ],
        "connection-types": [
            {
                "connection-type": "hrflow",
                "hook-class-name": "airflow_provider_broadbean.hooks.hrflow.HrFlowHook",
                "hook-name": "HrFlow.ai",
                "conn-fields": {
                    "source_key": {
                        "label": "Source key (optional)",
                        "description": "When set, Test checks that the key pair can read this source.",
                        "schema": {"type": ["string", "null"]},
                    },
                    "timeout": {
                        "label": "Timeout (seconds)",
                        "description": "Connect and read timeout of each HrFlow API call.",
                        "schema": {"type": ["number", "null"], "default": 30},
                    },
                },
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port", "extra"],
                    "relabeling": {
                        "host": "API root URL",
                        "login": "API user email",
                        "password": "API secret key",
                    },
                    "placeholders": {
                        "host": "https://api.hrflow.ai/v1/",
                        "login": "you@company.com",
                        "password": "askw_... (an API key with read access)",
                    },
                },
            },
            {
                "connection-type": "broadbean",
                "hook-class-name": "airflow_provider_broadbean.hooks.broadbean.BroadbeanHook",
                "hook-name": "Broadbean Candidate Hub",
                "conn-fields": {
                    "timeout": {
                        "label": "Read timeout (seconds)",
                        "description": "How long to wait for the Candidate Hub's reply to one candidate.",
                        "schema": {"type": ["number", "null"], "default": 60},
                    },
                    "max_attempts": {
                        "label": "Attempts per candidate",
                        "description": "Tries for 429, 5xx and refused connections before the candidate "
                        "is reported as a write failure.",
                        "schema": {"type": ["integer", "null"], "default": 5},
                    },
                },
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port", "extra"],
                    "relabeling": {
                        "host": "Candidate Hub URL",
                        "login": "Signing source id (optional)",
                        "password": "Secret key",
                    },
                    "placeholders": {
                        "host": "https://candidatehub.adcourier.com",
                        "login": "defaults to the task's source_id",
                        "password": "secret issued by Veritone Hire",
                    },
                },
            },
        ],
    }


def ui_field_behaviour(connection_type: str) -> dict[str, Any]:
    """The declared form of a connection type, in the shape hooks returned before Airflow 3.2."""
    for entry in get_provider_info()["connection-types"]:
        if entry["connection-type"] == connection_type:
            behaviour = entry["ui-field-behaviour"]
            return {
                "hidden_fields": list(behaviour["hidden-fields"]),
                "relabeling": dict(behaviour["relabeling"]),
                "placeholders": dict(behaviour["placeholders"]),
            }
    raise KeyError(connection_type)

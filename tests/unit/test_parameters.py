"""Parameter checks happen before any network call and never echo a value."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_broadbean import Broadbean

GOOD: dict[str, Any] = {
    "workflow_id": "wf",
    "logics": [],
    "connector_auth": {"secret_key": "hub-secret-value", "api_url": "http://127.0.0.1:9"},
    "hrflow_auth": {
        "api_secret": "askw_" + "0" * 32,
        "api_user": "me@example.test",
        "api_url": "http://127.0.0.1:9/v1/",
    },
    "pull_parameters": {"source_key": "s" * 40, "profile_key": "p" * 40},
    "push_parameters": {"client_id": "123", "source_id": "board1", "job_id": "R-444"},
}


@pytest.mark.parametrize(
    ("change", "reason", "named"),
    [
        ({"workflow_id": ""}, "bad_action_parameters", "workflow_id"),
        ({"connector_auth": {}}, "bad_action_parameters", "connector_auth.secret_key"),
        ({"connector_auth": {"secret_key": 12345678}}, "bad_action_parameters", "connector_auth.secret_key"),
        ({"hrflow_auth": {"api_secret": "askw_x"}}, "bad_action_parameters", "hrflow_auth.api_user"),
        ({"pull_parameters": {}}, "bad_origin_parameters", "pull_parameters.source_key"),
        (
            {"pull_parameters": {"source_key": "s", "profile": "p"}},
            "bad_origin_parameters",
            "pull_parameters.profile",
        ),
        (
            {"push_parameters": {"client_id": "1", "source_id": "b"}},
            "bad_target_parameters",
            "push_parameters.job_id",
        ),
        (
            {"push_parameters": {"client_id": 1, "source_id": "b", "job_id": "J"}},
            "bad_target_parameters",
            "push_parameters.client_id",
        ),
        ({"logics": "not a list"}, "bad_action_parameters", "logics"),
        ({"logics": [len, 3]}, "bad_action_parameters", "logics[1]"),
        ({"format": "default"}, "bad_action_parameters", "format"),
        ({"persist": "yes"}, "bad_action_parameters", "persist"),
        ({"incremental": 1}, "bad_action_parameters", "incremental"),
        ({"options": "fast"}, "bad_action_parameters", "options"),
        ({"state_store": "/tmp/state"}, "bad_action_parameters", "state_store"),
        (
            {"connector_auth": {"secret_key": "abcdefgh", "api_url": "12345678-not-a-url"}},
            "bad_action_parameters",
            "connector_auth.api_url",
        ),
        (
            {"push_parameters": {"client_id": "1", "source_id": "board1\r\nX: 12345678", "job_id": "J"}},
            "bad_target_parameters",
            "push_parameters.source_id",
        ),
    ],
)
def test_bad_parameters_are_fatal_and_named(change: dict[str, Any], reason: str, named: str) -> None:
    result = Broadbean.create_profiles_in_broadbean(**{**GOOD, **change})  # port 9 is never contacted
    assert result.status.value == "fatal"
    assert result.reason.value == reason
    assert named in (result.detail or "")
    assert "12345678" not in (result.detail or "")
    assert sum(result.events.values()) == 0


def test_run_options_refuse_nonsense_naming_the_option() -> None:
    from airflow_provider_broadbean import RunOptions

    for change, name in (
        ({"concurrency": "4"}, "concurrency"),
        ({"concurrency": 0}, "concurrency"),
        ({"max_document_bytes": -1}, "max_document_bytes"),
        ({"cv_policy": "ignore"}, "cv_policy"),
        ({"page_size": 0}, "page_size"),
    ):
        with pytest.raises(ValueError, match=f"options.{name}"):
            RunOptions(**change)

"""Both DAGs through ``dag.test()`` with a real metadata database, against the sandbox."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from sandbox import config
from tests.integration.airflow_helpers import get_dag, point_connections_at, read_state, run_dag

pytestmark = [pytest.mark.airflow, pytest.mark.usefixtures("airflow_env")]

PUSH = {"client_id": "123", "source_id": "board1", "job_id": "R-444"}


@pytest.fixture
def airflow_sandbox(airflow_env: dict[str, str], sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    point_connections_at(sandbox, monkeypatch)
    return sandbox


def seeded_with_cv(sandbox: Any) -> dict[str, Any]:
    for profile in sandbox.hrflow.profiles(config.SOURCE_KEY):
        attachments = profile.get("attachments") or []
        if (profile.get("info") or {}).get("email") and any(a.get("type") == "original" for a in attachments):
            return profile
    raise AssertionError("no seeded profile with a CV")


def test_dags_parse_with_the_declared_shape() -> None:
    event = get_dag("hrflow_profile_to_broadbean")
    poll = get_dag("hrflow_source_to_broadbean")
    assert event.schedule is None
    assert set(event.params) >= {
        "workflow_id",
        "source_key",
        "profile_key",
        "client_id",
        "source_id",
        "job_id",
        "shortlist_id",
        "aplitrak_email_address",
        "persist",
        "incremental",
    }
    assert all(event.params.get_param(name).description for name in event.params)
    assert event.default_args["retries"] > 0
    assert poll.max_active_runs == 1
    assert event.max_active_runs == 1


def test_event_dag_sends_the_profile_and_a_replay_does_not(airflow_sandbox: Any) -> None:
    profile = seeded_with_cv(airflow_sandbox)
    conf = {
        "workflow_id": f"event-{uuid.uuid4().hex[:8]}",
        "source_key": config.SOURCE_KEY,
        "profile_key": profile["key"],
        **PUSH,
    }

    state, result = run_dag("hrflow_profile_to_broadbean", conf)
    assert state == "success"
    assert result is not None and result["status"] == "success"
    [stored] = airflow_sandbox.hub.accepted()
    assert result["delivered"] == {profile["key"]: stored["transaction_id"]}
    assert stored["body"]["candidate"]["email"] == profile["info"]["email"].strip()
    assert stored["body"]["candidate"]["documents"][0]["type"] == "cv"
    ledger = read_state(conf["workflow_id"])
    assert ledger is not None
    assert ledger["delivered"][f"{profile['key']}|R-444"]["transaction_id"] == stored["transaction_id"]

    state, replay = run_dag("hrflow_profile_to_broadbean", conf)
    assert state == "success"
    assert replay is not None and replay["events"]["skipped_already_delivered"] == 1
    assert len(airflow_sandbox.hub.accepted()) == 1


def test_event_dag_sends_ids_that_look_like_numbers_as_given(airflow_sandbox: Any) -> None:
    """Native rendering would read "1_000" as 1000, "0x1F" as 31 and "1e3" as 1000.0: the ids reach the
    hub and the state as typed."""
    profile = seeded_with_cv(airflow_sandbox)
    conf = {
        "workflow_id": "1_000",
        "source_key": config.SOURCE_KEY,
        "profile_key": profile["key"],
        "client_id": "0x1F",
        "source_id": PUSH["source_id"],
        "job_id": "1e3",
        "shortlist_id": "0012",
    }

    state, result = run_dag("hrflow_profile_to_broadbean", conf)

    assert state == "success", result
    [stored] = airflow_sandbox.hub.accepted()
    assert stored["body"]["transaction"] == {"client_id": "0x1F", "source_id": PUSH["source_id"]}
    assert stored["body"]["context"] == {"job_id": "1e3", "shortlist_id": "0012"}
    ledger = read_state("1_000")
    assert ledger is not None and list(ledger["delivered"]) == [f"{profile['key']}|1e3"]


def test_event_dag_fails_the_task_on_a_fatal_result(airflow_sandbox: Any) -> None:
    conf = {
        "workflow_id": f"event-{uuid.uuid4().hex[:8]}",
        "source_key": config.SOURCE_KEY,
        "profile_key": seeded_with_cv(airflow_sandbox)["key"],
        **PUSH,
        "source_id": "unknown-board",
    }
    state, result = run_dag("hrflow_profile_to_broadbean", conf)
    assert state == "failed"
    assert result is None
    assert airflow_sandbox.hub.accepted() == []
    # The hub refused the source id (403): a connection to fix, so the task failed without retries.
    assert len([r for r in airflow_sandbox.hub.requests() if r["path"] == "/candidate"]) == 1


def test_poll_dag_sends_new_profiles_once(airflow_sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    workflow_id = f"poll-{uuid.uuid4().hex[:8]}"
    conf = {"workflow_id": workflow_id, "source_key": config.SOURCE_KEY, **PUSH}
    seeded = airflow_sandbox.hrflow.profiles(config.SOURCE_KEY)

    state, first = run_dag("hrflow_source_to_broadbean", conf)
    assert state == "success"
    assert first is not None
    sent = len(airflow_sandbox.hub.accepted())
    assert sent == first["events"]["write_success"] > 0
    assert first["events"]["read_success"] == len(seeded)
    cursor = read_state(workflow_id)["cursor"]  # type: ignore[index]
    assert cursor["sort_by"] == "updated_at" and cursor["value"].endswith("+00:00")

    state, second = run_dag("hrflow_source_to_broadbean", conf)
    assert state == "success"
    assert second is not None and second["events"]["write_success"] == 0
    assert len(airflow_sandbox.hub.accepted()) == sent

    airflow_sandbox.hrflow.put_profile(
        config.SOURCE_KEY,
        {"key": "e" * 40, "info": {"full_name": "Newcomer Example", "email": "new@example.test"}},
    )
    state, third = run_dag("hrflow_source_to_broadbean", conf)
    assert state == "success"
    assert third is not None and third["delivered"] == {
        "e" * 40: airflow_sandbox.hub.accepted()[-1]["transaction_id"]
    }
    assert len(airflow_sandbox.hub.accepted()) == sent + 1


def test_webhook_body_as_conf_sends_the_profile(airflow_sandbox: Any) -> None:
    profile = seeded_with_cv(airflow_sandbox)
    event = {
        "type": "profile.storing.success",
        "message": "Profile stored",
        "profile": {"key": profile["key"], "source": {"key": config.SOURCE_KEY}},
    }
    state, result = run_dag(
        "hrflow_profile_to_broadbean",
        {"workflow_id": f"hook-{uuid.uuid4().hex[:8]}", "hrflow_event": event, **PUSH},
    )
    assert state == "success"
    assert result is not None and list(result["delivered"]) == [profile["key"]]
    assert len(airflow_sandbox.hub.accepted()) == 1


@pytest.mark.parametrize(
    "conf_change",
    [
        {
            "hrflow_event": {
                "type": "profile.storing.update",
                "profile": {"key": "f" * 40, "source": {"key": "a" * 40}},
            }
        },
        {"jobid": "R-444"},
        {"profile_key": None},
    ],
    ids=["other-event-type", "unknown-key", "missing-profile"],
)
def test_bad_conf_fails_fast_without_calling_out(airflow_sandbox: Any, conf_change: dict[str, Any]) -> None:
    conf = {
        "workflow_id": f"bad-{uuid.uuid4().hex[:8]}",
        "source_key": config.SOURCE_KEY,
        "profile_key": seeded_with_cv(airflow_sandbox)["key"],
        **PUSH,
        **conf_change,
    }
    airflow_sandbox.hrflow.clear_requests()
    state, _ = run_dag("hrflow_profile_to_broadbean", conf)
    assert state == "failed"
    assert airflow_sandbox.hrflow.requests() == []
    assert airflow_sandbox.hub.requests() == []


def test_conf_of_the_wrong_type_is_refused_at_trigger(airflow_sandbox: Any) -> None:
    from airflow.exceptions import ParamValidationError

    with pytest.raises(ParamValidationError, match="persist"):
        run_dag(
            "hrflow_profile_to_broadbean",
            {"persist": "yes", "profile_key": "f" * 40, "source_key": config.SOURCE_KEY, **PUSH},
        )
    assert airflow_sandbox.hrflow.requests() == []

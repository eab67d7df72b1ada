"""Each rule of the action on its own, end to end against the sandbox over real HTTP."""

from __future__ import annotations

import base64
import logging
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_broadbean.pipeline import RunOptions
from tests.integration.pipeline_helpers import SOURCE, accepted_emails, person, run_action

KEY_1, KEY_2, KEY_3 = "1" * 40, "2" * 40, "3" * 40


@pytest.fixture
def source(sandbox: Any) -> str:
    sandbox.hrflow.add_source(SOURCE, "Pipeline tests")
    sandbox.hrflow.put_file("ada.pdf", b"%PDF-1.4 Ada\n")
    attachments = [
        {
            "type": "resume",
            "file_name": "resume",
            "original_file_name": "ada_cv.pdf",
            "extension": ".pdf",
            "public_url": "{files}/ada.pdf",
        },
        {
            "type": "original",
            "file_name": "original",
            "original_file_name": "ada_cv.pdf",
            "extension": ".pdf",
            "public_url": "{files}/ada.pdf",
        },
    ]
    sandbox.hrflow.put_profile(
        SOURCE,
        person(
            KEY_1,
            "Ada Example",
            "ada@example.test",
            attachments=attachments,
            created_at="2026-05-04T09:00:00+0000",
        ),
    )
    sandbox.hrflow.put_profile(
        SOURCE, person(KEY_2, "Bo Example", "bo@example.test", created_at="2026-05-04T09:01:00+0000")
    )
    sandbox.hrflow.put_profile(
        SOURCE, person(KEY_3, "Cy Example", "cy@example.test", created_at="2026-05-04T09:02:00+0000")
    )
    return SOURCE


def test_event_mode_sends_the_profile_with_its_cv(sandbox: Any, source: str, tmp_path: Path) -> None:
    result = run_action(sandbox, tmp_path, pull_parameters={"source_key": source, "profile_key": KEY_1})
    assert result.status.value == "success"
    assert result.events["read_success"] == 1 and result.events["write_success"] == 1
    [stored] = sandbox.hub.accepted()
    assert result.delivered == {KEY_1: stored["transaction_id"]}
    assert stored["body"]["context"] == {"job_id": "R-444"}
    assert stored["body"]["candidate"]["documents"] == [
        {"filename": "ada_cv.pdf", "type": "cv", "content": base64.b64encode(b"%PDF-1.4 Ada\n").decode()}
    ]


def test_missing_profile_is_not_an_error(sandbox: Any, source: str, tmp_path: Path) -> None:
    result = run_action(sandbox, tmp_path, pull_parameters={"source_key": source, "profile_key": "9" * 40})
    assert result.status.value == "success"
    assert result.events["not_found"] == 1 and result.events["read_success"] == 0
    assert sandbox.hub.accepted() == []


def test_logic_returning_none_discards(sandbox: Any, source: str, tmp_path: Path) -> None:
    def only_ada(profile: dict[str, Any]) -> dict[str, Any] | None:
        return profile if profile["info"]["full_name"].startswith("Ada") else None

    result = run_action(sandbox, tmp_path, logics=[only_ada])
    assert result.status.value == "success"
    assert result.events["logics_discard"] == 2 and result.events["write_success"] == 1
    assert accepted_emails(sandbox) == ["ada@example.test"]


def test_logic_changes_the_profile(sandbox: Any, source: str, tmp_path: Path) -> None:
    def rename(profile: dict[str, Any]) -> dict[str, Any]:
        profile["info"]["full_name"] = profile["info"]["full_name"].upper()
        return profile

    run_action(
        sandbox, tmp_path, logics=[rename], pull_parameters={"source_key": source, "profile_key": KEY_2}
    )
    assert sandbox.hub.accepted()[0]["body"]["candidate"]["name"] == "BO EXAMPLE"


def test_raising_logic_fails_that_profile_only(sandbox: Any, source: str, tmp_path: Path) -> None:
    def boom_on_bo(profile: dict[str, Any]) -> dict[str, Any]:
        if profile["key"] == KEY_2:
            raise RuntimeError("bad profile")
        return profile

    result = run_action(sandbox, tmp_path, logics=[boom_on_bo])
    assert result.status.value == "success_with_failures"
    assert result.events["logics_failure"] == 1 and result.events["write_success"] == 2
    assert "bad profile" in result.failed[KEY_2]
    assert accepted_emails(sandbox) == ["ada@example.test", "cy@example.test"]


def test_every_logic_failing_is_fatal(sandbox: Any, source: str, tmp_path: Path) -> None:
    def boom(profile: dict[str, Any]) -> dict[str, Any]:
        raise ValueError("nope")

    result = run_action(sandbox, tmp_path, logics=[boom])
    assert (result.status.value, result.reason.value) == ("fatal", "logics_failure")
    assert sandbox.hub.accepted() == []


def test_raising_format_fails_that_profile_only(sandbox: Any, source: str, tmp_path: Path) -> None:
    from airflow_provider_broadbean import default_format

    def my_format(profile: dict[str, Any]) -> dict[str, Any]:
        if profile["key"] == KEY_3:
            raise KeyError("no such field")
        candidate = default_format(profile)
        candidate["current_job_title"] = "Imported"
        return candidate

    result = run_action(sandbox, tmp_path, format=my_format)
    assert result.status.value == "success_with_failures"
    assert result.events["format_failure"] == 1 and result.events["write_success"] == 2
    assert {c["body"]["candidate"]["current_job_title"] for c in sandbox.hub.accepted()} == {"Imported"}


def test_every_format_failing_is_fatal(sandbox: Any, source: str, tmp_path: Path) -> None:
    result = run_action(sandbox, tmp_path, format=lambda profile: {"name": "No email"})
    assert (result.status.value, result.reason.value) == ("fatal", "format_failure")
    assert "candidate.email" in (result.detail or "")
    assert not result.credentials_refused


def test_failed_write_fails_that_candidate_only(sandbox: Any, source: str, tmp_path: Path) -> None:
    sandbox.hub.enqueue({"status": 400, "body": '{"success":0,"error":"duplicate candidate"}'})
    result = run_action(sandbox, tmp_path, options=RunOptions(concurrency=1))
    assert result.status.value == "success_with_failures"
    assert result.events["write_failure"] == 1 and result.events["write_success"] == 2
    assert "duplicate candidate" in next(iter(result.failed.values()))


def test_every_write_failing_is_fatal(sandbox: Any, source: str, tmp_path: Path) -> None:
    result = run_action(sandbox, tmp_path, connector_auth={"secret_key": "wrong", "api_url": sandbox.hub_url})
    assert (result.status.value, result.reason.value) == ("fatal", "write_failure")
    assert result.events["write_failure"] == 3
    assert "401" in (result.detail or "")
    assert result.credentials_refused


def test_read_failure_is_fatal(sandbox: Any, source: str, tmp_path: Path) -> None:
    bad_auth = {"api_secret": "askw_" + "5" * 32, "api_user": "x@example.test", "api_url": sandbox.hrflow_url}
    result = run_action(
        sandbox, tmp_path, hrflow_auth=bad_auth, pull_parameters={"source_key": source, "profile_key": KEY_1}
    )
    assert (result.status.value, result.reason.value) == ("fatal", "read_failure")
    assert "401" in (result.detail or "") and "5" * 32 not in (result.detail or "")
    assert result.credentials_refused


def test_dry_run_sends_nothing_and_logs_documents_by_name_and_size(
    sandbox: Any, source: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    result = run_action(
        sandbox, tmp_path, persist=False, pull_parameters={"source_key": source, "profile_key": KEY_1}
    )
    assert result.status.value == "success"
    assert result.events["dry_run"] == 1
    assert [e for e in sandbox.hub.requests() if e["path"] == "/candidate"] == []
    logged = "\n".join(record.getMessage() for record in caplog.records if "Dry run" in record.getMessage())
    assert "'filename': 'ada_cv.pdf'" in logged and "'size': 13" in logged
    assert base64.b64encode(b"%PDF-1.4 Ada\n").decode() not in caplog.text


def test_callback_gets_parameters_events_and_items(sandbox: Any, source: str, tmp_path: Path) -> None:
    calls: list[tuple[Any, ...]] = []

    def callback(
        pull: dict[str, Any], push: dict[str, Any], events: Counter, items: list[dict[str, Any]]
    ) -> None:
        calls.append((pull, push, dict(events), items))

    pull = {"source_key": source, "profile_key": KEY_1}
    result = run_action(sandbox, tmp_path, callback=callback, pull_parameters=pull)
    assert result.events["callback_executed"] == 1 and result.events["callback_failure"] == 0
    [(got_pull, got_push, events, items)] = calls
    assert got_pull == pull
    assert got_push == {"client_id": "123", "source_id": "board1", "job_id": "R-444"}
    assert events["write_success"] == 1
    assert items[0]["email"] == "ada@example.test"
    assert items[0]["documents"] == [{"filename": "ada_cv.pdf", "type": "cv", "size": 13}]


def test_failing_callback_is_counted_not_fatal(sandbox: Any, source: str, tmp_path: Path) -> None:
    def callback(*args: Any) -> None:
        raise RuntimeError("callback broke")

    result = run_action(
        sandbox, tmp_path, callback=callback, pull_parameters={"source_key": source, "profile_key": KEY_2}
    )
    assert result.status.value == "success_with_failures"
    assert result.events["callback_failure"] == 1 and result.events["callback_executed"] == 1
    assert len(sandbox.hub.accepted()) == 1


def test_optional_context_values(sandbox: Any, source: str, tmp_path: Path) -> None:
    push = {
        "client_id": "123",
        "source_id": "board1",
        "job_id": "R-444",
        "shortlist_id": "SL-9",
        "aplitrak_email_address": "bo.1.2@client.aplitrak.test",
    }
    run_action(
        sandbox, tmp_path, push_parameters=push, pull_parameters={"source_key": source, "profile_key": KEY_2}
    )
    assert sandbox.hub.accepted()[0]["body"]["context"] == {
        "job_id": "R-444",
        "shortlist_id": "SL-9",
        "supplementary": {"aplitrak_email_address": "bo.1.2@client.aplitrak.test"},
    }


def test_replay_of_the_same_event_sends_nothing_twice(sandbox: Any, source: str, tmp_path: Path) -> None:
    pull = {"source_key": source, "profile_key": KEY_2}
    first = run_action(sandbox, tmp_path, pull_parameters=pull)
    second = run_action(sandbox, tmp_path, pull_parameters=pull)
    assert first.events["write_success"] == 1
    assert second.status.value == "success"
    assert second.events["skipped_already_delivered"] == 1 and second.events["write_success"] == 0
    assert len(sandbox.hub.accepted()) == 1
    other_job = run_action(
        sandbox,
        tmp_path,
        pull_parameters=pull,
        push_parameters={"client_id": "123", "source_id": "board1", "job_id": "R-555"},
    )
    assert other_job.events["write_success"] == 1


def test_a_profile_stamped_in_the_future_does_not_hide_later_ones(
    sandbox: Any, source: str, tmp_path: Path
) -> None:
    sandbox.hrflow.put_profile(
        source,
        person("4" * 40, "Future Example", "future@example.test", updated_at="2099-01-01T00:00:00+0000"),
    )
    first = run_action(sandbox, tmp_path, incremental=True)
    assert first.events["write_success"] == 4
    sandbox.hrflow.put_profile(source, person("5" * 40, "Later Example", "later@example.test"))
    second = run_action(sandbox, tmp_path, incremental=True)
    assert list(second.delivered) == ["5" * 40]


def test_a_2xx_with_an_unknown_success_flag_is_unconfirmed_not_resent(
    sandbox: Any, source: str, tmp_path: Path
) -> None:
    pull = {"source_key": source, "profile_key": KEY_2}
    sandbox.hub.enqueue(
        {"action": "commit", "status": 200, "body": {"success": "true", "transaction_id": "{transaction_id}"}}
    )
    first = run_action(sandbox, tmp_path, pull_parameters=pull)
    assert first.unconfirmed == [KEY_2]
    second = run_action(sandbox, tmp_path, pull_parameters=pull)
    assert second.events["skipped_unconfirmed"] == 1
    assert len(sandbox.hub.accepted()) == 1


def test_junk_text_never_reaches_the_hub(sandbox: Any, source: str, tmp_path: Path) -> None:
    profile = person("6" * 40, "Nan Example", "nan@example.test")
    profile["info"].update({"phone": "NaN", "first_name": "Ann\x00a", "last_name": "nan"})
    sandbox.hrflow.put_profile(source, profile)
    result = run_action(sandbox, tmp_path, pull_parameters={"source_key": source, "profile_key": "6" * 40})
    assert result.status.value == "success"
    candidate = sandbox.hub.accepted()[0]["body"]["candidate"]
    assert candidate == {"name": "Nan Example", "email": "nan@example.test"}

"""The status rules shared with hrflow-connectors."""

from __future__ import annotations

from collections import Counter

import pytest

from airflow_provider_broadbean.result import Event, Reason, RunResult, Status


def counts(**values: int) -> Counter[Event]:
    events = Event.empty_counter()
    for name, value in values.items():
        events[Event(name)] = value
    return events


@pytest.mark.parametrize(
    ("values", "status", "reason"),
    [
        ({}, Status.success, Reason.none),
        ({"read_success": 2, "write_success": 2}, Status.success, Reason.none),
        ({"read_failure": 1}, Status.fatal, Reason.read_failure),
        ({"read_success": 2, "logics_failure": 2}, Status.fatal, Reason.logics_failure),
        ({"read_success": 2, "logics_discard": 2}, Status.success, Reason.none),
        ({"read_success": 3, "logics_discard": 1, "format_failure": 2}, Status.fatal, Reason.format_failure),
        ({"read_success": 2, "write_failure": 2}, Status.fatal, Reason.write_failure),
        (
            {"read_success": 2, "write_failure": 1, "write_success": 1},
            Status.success_with_failures,
            Reason.none,
        ),
        (
            {"read_success": 1, "write_success": 1, "callback_failure": 1},
            Status.success_with_failures,
            Reason.none,
        ),
        (
            {"read_success": 2, "unconfirmed": 1, "write_success": 1},
            Status.success_with_failures,
            Reason.none,
        ),
    ],
)
def test_status_from_events(values: dict[str, int], status: Status, reason: Reason) -> None:
    result = RunResult.from_events(counts(**values))
    assert (result.status, result.reason) == (status, reason)


def test_events_are_readable_by_name() -> None:
    result = RunResult.from_events(counts(read_success=2, write_failure=1, write_success=1))
    assert result.events["write_failure"] == 1
    assert result.status.value == "success_with_failures"
    assert result.reason.value == "none"
    assert result.summary()["events"]["write_success"] == 1

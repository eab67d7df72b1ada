"""The outcome of a run as data: a status, a reason and counts per event.

The names and the rules that turn counts into a status are those of hrflow-connectors, so users
who migrate keep their dashboards and callbacks; this provider adds a few counters of its own.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Event(str, Enum):
    """What happened to one profile (or to the callback); counted per run."""

    read_success = "read_success"
    read_failure = "read_failure"
    format_failure = "format_failure"
    logics_discard = "logics_discard"
    logics_failure = "logics_failure"
    write_failure = "write_failure"
    callback_failure = "callback_failure"
    callback_executed = "callback_executed"
    not_found = "not_found"
    write_success = "write_success"
    dry_run = "dry_run"
    skipped_already_delivered = "skipped_already_delivered"
    skipped_unconfirmed = "skipped_unconfirmed"
    unconfirmed = "unconfirmed"

    @classmethod
    def empty_counter(cls) -> Counter[Event]:
        return Counter({event: 0 for event in cls})


class Reason(str, Enum):
    """Why a run is fatal; ``none`` otherwise."""

    none = "none"
    bad_origin_parameters = "bad_origin_parameters"
    bad_target_parameters = "bad_target_parameters"
    bad_action_parameters = "bad_action_parameters"
    read_failure = "read_failure"
    logics_failure = "logics_failure"
    format_failure = "format_failure"
    write_failure = "write_failure"
    state_failure = "state_failure"


class Status(str, Enum):
    success = "success"
    success_with_failures = "success_with_failures"
    fatal = "fatal"


FAILURE_EVENTS = (
    Event.read_failure,
    Event.logics_failure,
    Event.format_failure,
    Event.write_failure,
    Event.callback_failure,
    Event.unconfirmed,
)


@dataclass
class RunResult:
    """The result of one run of "create profiles in Broadbean".

    ``events`` is a ``Counter`` keyed by :class:`Event`; since events are string enums,
    ``result.events["write_failure"]`` works too. ``detail`` says in words what made a run fatal
    (the parameter, the profile, the service's error), or what cut a run short after it had
    delivered some profiles (a listing page that could not be read), never a credential.
    ``delivered`` maps each profile key sent in this run to the hub's transaction id;
    ``unconfirmed`` lists the profiles whose send may or may not have reached the hub.
    ``credentials_refused`` is True for a fatal run whose every failure was HrFlow's 401 or the
    hub's 401/403: a connection to fix, not a transient fault.
    """

    status: Status
    reason: Reason = Reason.none
    events: Counter[Event] = field(default_factory=Event.empty_counter)
    detail: str | None = None
    delivered: dict[str, str] = field(default_factory=dict)
    unconfirmed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    credentials_refused: bool = False

    @classmethod
    def fatal(cls, reason: Reason, detail: str, events: Counter[Event] | None = None) -> RunResult:
        return cls(status=Status.fatal, reason=reason, detail=detail, events=events or Event.empty_counter())

    @classmethod
    def from_events(cls, events: Counter[Event], **kwargs: Any) -> RunResult:
        """Derive the status from the counts, with the rules of hrflow-connectors.

        A run is fatal when every profile read failed at one stage: all reads, all logics, all
        formats, or all writes. Anything else that failed makes it a success with failures.
        """
        read_success = events[Event.read_success]
        read_failure = events[Event.read_failure]
        logics_failure = events[Event.logics_failure]
        logics_discard = events[Event.logics_discard]
        format_failure = events[Event.format_failure]
        write_failure = events[Event.write_failure]
        reason = Reason.none
        if read_success == 0 and read_failure > 0:
            reason = Reason.read_failure
        elif read_success > 0 and logics_failure == read_success:
            reason = Reason.logics_failure
        elif read_success > 0 and 0 < format_failure == read_success - logics_failure - logics_discard:
            reason = Reason.format_failure
        elif 0 < write_failure == read_success - logics_failure - logics_discard - format_failure:
            reason = Reason.write_failure
        if reason is not Reason.none:
            return cls(status=Status.fatal, reason=reason, events=events, **kwargs)
        if any(events[event] > 0 for event in FAILURE_EVENTS):
            return cls(status=Status.success_with_failures, events=events, **kwargs)
        return cls(status=Status.success, events=events, **kwargs)

    def summary(self, max_keys: int = 50) -> dict[str, Any]:
        """A small JSON-ready summary (for XCom and logs): never profiles or documents."""
        return {
            "status": self.status.value,
            "reason": self.reason.value,
            "detail": self.detail,
            "events": {event.value: count for event, count in self.events.items()},
            "delivered": dict(list(self.delivered.items())[:max_keys]),
            "unconfirmed": self.unconfirmed[:max_keys],
            "failed": dict(list(self.failed.items())[:max_keys]),
            "credentials_refused": self.credentials_refused,
        }

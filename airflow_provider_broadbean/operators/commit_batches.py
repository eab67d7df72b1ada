"""Operator that ends a fan-out: merge the mapped tasks' state shards, move the cursor, sum up."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider_broadbean.operators.rendered import as_bool

if TYPE_CHECKING:
    from airflow.sdk import Context

MAX_SHOWN_KEYS = 50
FAILURE_EVENTS = ("read_failure", "logics_failure", "format_failure", "write_failure", "unconfirmed")


class CommitProfileBatchesOperator(BaseOperator):
    """Merge the state shards of a fan-out into the workflow's state, set the cursor, delete the shards.

    Runs after the mapped tasks of ``CreateProfilesInBroadbeanOperator``, whatever happened to them:
    its trigger rule defaults to ``all_done``. A planned profile is then delivered, pending, failed
    for good, or on the retry list (the planning step puts every planned profile there; a mapped task
    takes it off once the profile is delivered, pending or failed for good, and a task that failed or
    never ran leaves its unattempted profiles there), so the cursor moves and the next run retries
    what is left. Once the state is committed, the task fails when some batches failed or did not
    run (fewer results than planned batches: a failed task pushes none), without Airflow retries
    (retrying cannot bring their results back), so that the DAG run shows failed. When the planning
    step itself failed there is no plan and nothing is committed.

    The return value sums the mapped tasks' results: ``status`` (``success``, or
    ``success_with_failures`` when some profiles or batches failed), ``events`` (their counts, plus the
    planning step's ``skipped_already_delivered`` and ``skipped_unconfirmed``), ``delivered_count``,
    ``failed`` and ``unconfirmed`` (keys, at most 50 each), ``batches`` (results read),
    ``failed_batches``, ``planned``, ``deferred``, ``cursor``, ``merged_shards`` and
    ``deliveries_merged``. It is pushed as the return value also when the task fails for failed
    batches.

    :param workflow_id: the workflow whose state the shards are merged into. (templated)
    :param plan: the planning step's summary, ``XComArg(plan, key="plan")``; its ``cursor`` is set.
        (templated)
    :param results: the mapped tasks' results (``create.output``): counted against the planned
        batches to tell the batches that failed. (templated)
    :param persist: False for a dry run: nothing is written or deleted. (templated)
    """

    template_fields: Sequence[str] = ("workflow_id", "plan", "results", "persist")
    ui_color = "#f0e6ff"

    def __init__(
        self,
        *,
        workflow_id: str,
        plan: Any,
        results: Any,
        persist: bool | str = True,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("trigger_rule", "all_done")
        super().__init__(**kwargs)
        self.workflow_id = workflow_id
        self.plan = plan
        self.results = results
        self.persist = persist

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_broadbean._compat import AirflowException, AirflowFailException
        from airflow_provider_broadbean.dates import parse_hrflow_datetime
        from airflow_provider_broadbean.fanout import commit_batches
        from airflow_provider_broadbean.parameters import ParameterError, check_bool, check_workflow_id
        from airflow_provider_broadbean.state import StateError, VariableStateStore, WorkflowState

        plan = _json_object(self.plan)
        if not plan or plan.get("complete") is False:
            raise AirflowFailException(
                "Broadbean commit refused: the planning step did not finish, so there is nothing to "
                "commit; the next run plans again"
            )
        cursor = plan.get("cursor")
        try:
            workflow_id = check_workflow_id(self.workflow_id)
            persist = check_bool(as_bool(self.persist), "persist")
            if cursor is not None and not (isinstance(cursor, str) and parse_hrflow_datetime(cursor)):
                raise ParameterError("plan.cursor: expected an ISO 8601 time or None")
        except ParameterError as exc:
            raise AirflowFailException(f"Broadbean commit refused: {exc}") from None
        results = [_json_object(result) for result in _sequence(self.results)]

        store = VariableStateStore()
        try:
            outcome = commit_batches(WorkflowState(store, workflow_id), store, cursor=cursor, persist=persist)
        except StateError as exc:
            raise AirflowException(f"Broadbean commit failed: {exc}") from None

        summary = summarise(plan, results)
        summary["merged_shards"] = outcome.merged_shards
        summary["deliveries_merged"] = outcome.deliveries_merged
        self.log.info(
            "Fan-out of workflow %s finished: status=%s batches=%s failed_batches=%s delivered=%s "
            "failed=%s unconfirmed=%s cursor=%s",
            workflow_id,
            summary["status"],
            summary["batches"],
            summary["failed_batches"],
            summary["delivered_count"],
            len(summary["failed"]),
            len(summary["unconfirmed"]),
            outcome.cursor or "unchanged",
        )
        failed_batches = summary["failed_batches"]
        if failed_batches:
            context["ti"].xcom_push(key="return_value", value=summary)
            planned = int(plan.get("batches") or 0)
            moved = f"moved to {outcome.cursor}" if outcome.cursor else "unchanged"
            raise AirflowFailException(
                f"Broadbean fan-out: {failed_batches} of {planned} batches failed or did not run; the "
                f"state is committed (cursor {moved}), and the profiles those batches did not settle "
                "are on the retry list for the next run"
            )
        return summary


def summarise(plan: dict[str, Any], results: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The fan-out's result: the mapped tasks' counts summed, with the planning step's skips.

    ``failed_batches`` counts the planned batches without a result: a mapped task that failed, or
    never ran, pushes none.
    """
    from airflow_provider_broadbean.result import Event

    events: Counter[str] = Counter({event.value: 0 for event in Event})
    failed: dict[str, str] = {}
    unconfirmed: list[str] = []
    batches = 0
    for result in results:
        batches += 1
        events.update({name: int(count) for name, count in (result.get("events") or {}).items()})
        failed.update(result.get("failed") or {})
        unconfirmed += result.get("unconfirmed") or []
    for name in ("skipped_already_delivered", "skipped_unconfirmed"):
        events[name] += int(plan.get(name) or 0)
    unconfirmed = list(dict.fromkeys([*(plan.get("unconfirmed") or []), *unconfirmed]))
    failed_batches = max(0, int(plan.get("batches") or 0) - batches)
    failures = failed_batches or any(events[name] for name in FAILURE_EVENTS)
    return {
        "status": "success_with_failures" if failures else "success",
        "batches": batches,
        "failed_batches": failed_batches,
        "planned": int(plan.get("planned") or 0),
        "deferred": int(plan.get("deferred") or 0),
        "events": dict(events),
        "delivered_count": events["write_success"],
        "failed": dict(list(failed.items())[:MAX_SHOWN_KEYS]),
        "unconfirmed": unconfirmed[:MAX_SHOWN_KEYS],
        "cursor": plan.get("cursor"),
    }


def _json_object(value: Any) -> dict[str, Any]:
    """An XCom value as a dict (some templates render it as JSON text)."""
    if isinstance(value, str):
        value = json.loads(value) if value.strip() not in ("", "None") else None
    return dict(value) if isinstance(value, dict) else {}


def _sequence(value: Any) -> list[Any]:
    """The mapped tasks' results: a lazy XCom sequence, a list, its JSON text, or nothing.

    A lazy sequence is read as one slice: one request, and no error logged for the index past the
    end (iterating it, or comparing it, reads item after item until a lookup fails, and Airflow logs
    that failure). The results of the mapped tasks that failed or never ran are not in it.
    """
    if value is None:
        return []
    if isinstance(value, str):  # before any comparison: a lazy sequence compared reads its items
        if value.strip() in ("", "None"):
            return []
        value = json.loads(value)
    if isinstance(value, dict):
        return [value]
    if isinstance(value, Sequence):
        return [item for item in value[:] if item is not None]
    return [item for item in value if item is not None]

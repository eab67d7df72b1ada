"""Operator that plans a fan-out: a source's new profiles, split into batches for mapped tasks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider_broadbean.operators.rendered import as_bool, as_int, given

if TYPE_CHECKING:
    from airflow.sdk import Context

PLAN_XCOM_KEY = "plan"
"""The XCom key of the plan's summary; the return value is the batches, for mapping over."""
DEFAULT_BATCH_SIZE = 100
MAX_BATCH_SIZE = 10_000
DEFAULT_MAX_BATCHES = 100
"""Mapped tasks per run by default: 10,000 profiles with the default batch size. Every planned profile
has an entry in the workflow's state until the commit, so a run's size is also the size of a Variable."""
"""The largest ``batch_size`` accepted: a batch is one task's work, and its keys travel by XCom."""


class PlanProfileBatchesOperator(BaseOperator):
    """List a source's new profiles as a poll does and split them into batches for mapped tasks.

    The listing is the poll's: ``updated_at`` newest first, down to the workflow's cursor minus
    ``poll_overlap``, plus the profiles on the retry list; profiles the ledger holds as delivered or
    pending for the job are dropped (and counted). The rest goes into batches of ``batch_size``,
    retried profiles first, then the least recently updated. Before planning, every state shard the
    workflow's state still names is merged into it and deleted: those of an earlier run whose commit
    did not happen, and those of an earlier try of this DAG run (cleared and run again), so that what
    they delivered is not sent again. The shards of this run's mapped tasks are then named in the
    state, and every planned profile is put on the retry list until its batch settles it: a batch that
    fails or never runs leaves its profiles there for the next run.

    The return value is the batches, a list of lists of profile keys to map over
    (``.expand(profile_keys=plan.output)``: Airflow maps over return values only). The plan's summary
    is the XCom ``plan`` (``XComArg(plan, key="plan")``): counts, and ``cursor``, the value
    ``CommitProfileBatchesOperator`` sets (None: the cursor stays); a try that fails leaves
    ``{"complete": false}`` there. With ``max_batches`` what does not fit waits for the next run, and
    the cursor then stops at the newest profile planned.

    :param workflow_id: the workflow whose state (ledger, cursor, retry list) is used. (templated)
    :param source_key: HrFlow source to list. (templated)
    :param job_id: the job the profiles are sent for; the ledger is kept per job. (templated)
    :param batch_size: profiles per mapped task, 1 to 10,000, default 100. (templated)
    :param max_batches: at most this many mapped tasks per run, default 100; None for as many as
        Airflow maps (``[core] max_map_length``, 1024 by default: a longer list would fail the task,
        and a larger number is capped there). (templated)
    :param persist: False for a dry run: the state is read, never written. (templated)
    :param poll_overlap: how far below the cursor the listing looks again, as in poll mode.
    :param page_size: profiles per listing page.
    :param hrflow_conn_id: the HrFlow connection.
    """

    template_fields: Sequence[str] = (
        "workflow_id",
        "source_key",
        "job_id",
        "batch_size",
        "max_batches",
        "persist",
    )
    ui_color = "#f0e6ff"

    def __init__(
        self,
        *,
        workflow_id: str,
        source_key: str,
        job_id: str,
        batch_size: int | str = DEFAULT_BATCH_SIZE,
        max_batches: int | str | None = DEFAULT_MAX_BATCHES,
        persist: bool | str = True,
        poll_overlap: timedelta = timedelta(minutes=10),
        page_size: int = 100,
        hrflow_conn_id: str = "hrflow_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.workflow_id = workflow_id
        self.source_key = source_key
        self.job_id = job_id
        self.batch_size = batch_size
        self.max_batches = max_batches
        self.persist = persist
        self.poll_overlap = poll_overlap
        self.page_size = page_size
        self.hrflow_conn_id = hrflow_conn_id

    def execute(self, context: Context) -> list[list[str]]:
        from airflow_provider_broadbean._compat import AirflowException, AirflowFailException
        from airflow_provider_broadbean.exceptions import HrFlowError
        from airflow_provider_broadbean.fanout import plan_batches
        from airflow_provider_broadbean.hooks.hrflow import HrFlowHook
        from airflow_provider_broadbean.parameters import ParameterError, check_bool, check_workflow_id
        from airflow_provider_broadbean.state import (
            PollTargetError,
            StateError,
            VariableStateStore,
            WorkflowState,
        )

        # Replaced by the summary once the plan is made. A failed try keeps it, so the commit (which
        # runs whatever happened upstream) finds an unfinished plan and refuses, rather than failing
        # on a missing XCom.
        context["ti"].xcom_push(key=PLAN_XCOM_KEY, value={"complete": False})
        try:
            workflow_id = check_workflow_id(self.workflow_id)
            source_key, job_id = _text(self.source_key, "source_key"), _text(self.job_id, "job_id")
            batch_size = as_int(self.batch_size, "batch_size", low=1, high=MAX_BATCH_SIZE)
            cap = _max_map_length()
            max_batches = (
                min(as_int(self.max_batches, "max_batches", low=1), cap) if given(self.max_batches) else cap
            )
            persist = check_bool(as_bool(self.persist), "persist")
            page_size = as_int(self.page_size, "page_size", low=1, high=1000)
        except ParameterError as exc:
            raise AirflowFailException(f"Broadbean planning refused: {exc}") from None

        store = VariableStateStore()
        hrflow = HrFlowHook(hrflow_conn_id=self.hrflow_conn_id).get_conn()
        try:
            plan = plan_batches(
                WorkflowState(store, workflow_id),
                store,
                hrflow.iter_profile_keys(
                    source_key, sort_by="updated_at", order_by="desc", page_size=page_size
                ),
                source_key=source_key,
                job_id=job_id,
                run_id=str(context["run_id"]),
                batch_size=batch_size,
                max_batches=max_batches,
                overlap=self.poll_overlap,
                persist=persist,
            )
        except HrFlowError as exc:
            message = f"Broadbean planning failed: listing source {source_key}: {exc}"
            if exc.status == 401:  # a connection to fix: retrying cannot help
                raise AirflowFailException(message) from None
            raise AirflowException(message) from None
        except PollTargetError as exc:  # a parameter to change: retrying cannot help
            raise AirflowFailException(f"Broadbean planning refused: {exc}") from None
        except StateError as exc:
            raise AirflowException(f"Broadbean planning failed: {exc}") from None
        finally:
            hrflow.close()

        context["ti"].xcom_push(key=PLAN_XCOM_KEY, value=plan.summary())
        return plan.batches


def _max_map_length() -> int:
    """Airflow's bound on the length of a list mapped over: a longer one fails the task pushing it."""
    try:
        from airflow.sdk.configuration import conf
    except ImportError:  # Airflow 3.0 reads its configuration from the core package
        from airflow.configuration import conf
    return conf.getint("core", "max_map_length", fallback=1024)


def _text(value: Any, name: str) -> str:
    """A rendered id that must not be empty, as text."""
    from airflow_provider_broadbean.parameters import ParameterError

    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip() or not value.isprintable():
        raise ParameterError(f"{name}: expected a non-empty string")
    return value.strip()

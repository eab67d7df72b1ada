"""Operator that sends HrFlow profiles to Broadbean's Candidate Hub."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider_broadbean.operators.rendered import (
    as_bool,
    as_int,
    as_keys,
    as_policy,
    given,
    text_values,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_broadbean.result import RunResult


class CreateProfilesInBroadbeanOperator(BaseOperator):
    """Send a profile (event mode), a source's new profiles (poll mode) or given profiles to the hub.

    Credentials come from Airflow connections: ``hrflow_conn_id`` (type ``hrflow``) and
    ``broadbean_conn_id`` (type ``broadbean``). The incremental state of ``workflow_id`` lives in the
    Airflow Variable ``broadbean_state__<workflow_id>``. A fatal result fails the task, so Airflow's
    retries apply; the delivery ledger keeps a retry from sending again what an earlier try
    delivered. The task's XCom is the result summary (status, reason, counts, keys): never
    profiles or documents.

    With ``profile_keys`` it sends exactly those profiles, keeping the retry list as a poll does and
    leaving the cursor alone. As a mapped task of a fan-out, ``.partial(...).expand(profile_keys=...)``
    over the batches of ``PlanProfileBatchesOperator``, it then writes its own state shard instead
    of the workflow's Variable, so that sibling tasks never write one Variable, and
    ``CommitProfileBatchesOperator`` merges the shards (see :mod:`airflow_provider_broadbean.fanout`).

    :param workflow_id: stable id under which the incremental state is kept. (templated)
    :param source_key: HrFlow source holding the profiles. (templated)
    :param profile_key: the profile to send; when empty the source is polled. (templated)
    :param profile_keys: a list of profiles to send (a JSON list once rendered is accepted too); not
        with ``profile_key``, ``hrflow_event``, or ``mode`` ``"event"`` or ``"poll"``. (templated)
    :param client_id: Veritone Hire's id of the candidate-importer client mapper. (templated)
    :param source_id: Veritone Hire's transaction/publisher source id. (templated)
    :param job_id: the job the candidate applied to. (templated)
    :param shortlist_id: shortlist for the candidate. (templated)
    :param aplitrak_email_address: the job board's tracking address for the vacancy. (templated)
    :param logics: functions applied in order to each profile; return the profile or None to drop it.
    :param format: profile to candidate; default ``airflow_provider_broadbean.mapping.default_format``.
    :param callback: ``callback(pull_parameters, push_parameters, events, items)``, once per run.
    :param persist: False for a dry run that sends nothing. (templated)
    :param incremental: in poll mode, read only what changed since the last run. (templated)
    :param fail_on_partial: fail the task when some profiles failed (default: succeed with a warning).
    :param concurrency: profiles processed at once. (templated)
    :param resend_unconfirmed: resend profiles whose earlier send is unconfirmed; may create a
        duplicate candidate, so off by default. (templated)
    :param cv_policy: ``"fail"`` or ``"send_without"`` for a CV that cannot be fetched. (templated)
    :param max_document_bytes: size limit of one attachment. (templated)
    :param hrflow_event: the body of an HrFlow "profile created" webhook; the source and profile keys
        are taken from it (see :mod:`airflow_provider_broadbean.events`). (templated)
    :param mode: ``"event"`` requires a profile key (from ``profile_key`` or ``hrflow_event``);
        ``"poll"`` reads the source's profiles; ``"auto"`` (default) polls when no profile key is given.
    :param reject_unknown_conf: fail the task, before any network call, when the DAG run's conf has
        a key that is not one of the DAG's Params (a typo would otherwise be silently ignored).
    :param hrflow_conn_id: the HrFlow connection.
    :param broadbean_conn_id: the Candidate Hub connection.
    """

    template_fields: Sequence[str] = (
        "workflow_id",
        "source_key",
        "profile_key",
        "profile_keys",
        "client_id",
        "source_id",
        "job_id",
        "shortlist_id",
        "aplitrak_email_address",
        "persist",
        "incremental",
        "concurrency",
        "resend_unconfirmed",
        "cv_policy",
        "max_document_bytes",
        "hrflow_event",
    )
    ui_color = "#f0e6ff"

    def __init__(
        self,
        *,
        workflow_id: str,
        source_key: str,
        client_id: str,
        source_id: str,
        job_id: str,
        profile_key: str | None = None,
        profile_keys: list[str] | str | None = None,
        shortlist_id: str | None = None,
        aplitrak_email_address: str | None = None,
        logics: list[Callable[[dict[str, Any]], dict[str, Any] | None]] | None = None,
        format: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        callback: Callable[..., Any] | None = None,
        persist: bool | str = True,
        incremental: bool | str = False,
        fail_on_partial: bool = False,
        concurrency: int | str = 4,
        resend_unconfirmed: bool | str = False,
        cv_policy: str = "fail",
        max_document_bytes: int | str = 10 * 1024 * 1024,
        hrflow_event: dict[str, Any] | str | None = None,
        reject_unknown_conf: bool = False,
        mode: str = "auto",
        hrflow_conn_id: str = "hrflow_default",
        broadbean_conn_id: str = "broadbean_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.workflow_id = workflow_id
        self.source_key = source_key
        self.profile_key = profile_key
        self.profile_keys = profile_keys
        self.client_id = client_id
        self.source_id = source_id
        self.job_id = job_id
        self.shortlist_id = shortlist_id
        self.aplitrak_email_address = aplitrak_email_address
        self.logics = logics
        self.format = format
        self.callback = callback
        self.persist = persist
        self.incremental = incremental
        self.fail_on_partial = fail_on_partial
        self.concurrency = concurrency
        self.resend_unconfirmed = resend_unconfirmed
        self.cv_policy = cv_policy
        self.max_document_bytes = max_document_bytes
        self.hrflow_event = hrflow_event
        self.reject_unknown_conf = reject_unknown_conf
        if mode not in {"auto", "event", "poll"}:
            raise ValueError("mode must be 'auto', 'event' or 'poll'")
        if profile_keys is not None and mode != "auto":
            raise ValueError(f"profile_keys cannot be combined with mode={mode!r}")
        self.mode = mode
        self.hrflow_conn_id = hrflow_conn_id
        self.broadbean_conn_id = broadbean_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_broadbean._compat import AirflowException, AirflowFailException
        from airflow_provider_broadbean.fanout import ShardError

        if self.reject_unknown_conf:
            self.check_conf_keys(context, declared=set(self.dag.params) if self.has_dag() else set())
        map_index = getattr(context.get("ti"), "map_index", None)
        mapped_run = None
        if isinstance(map_index, int) and map_index >= 0:  # a mapped task instance; -1 when not mapped
            mapped_run = (str(context["run_id"]), map_index)
        try:
            result = self.run_action(mapped_run=mapped_run)
        except ShardError as exc:
            raise AirflowFailException(f"Broadbean run refused: {exc}") from None
        summary = result.summary()
        if result.status.value == "fatal":
            message = f"Broadbean run failed: {result.reason.value}: {result.detail or ''}"
            if result.reason.value.startswith("bad_") or result.credentials_refused:
                # Bad input or credentials the services refuse: retrying cannot help.
                raise AirflowFailException(message)
            raise AirflowException(message)
        if result.status.value == "success_with_failures":
            message = f"Broadbean run finished with failures: {summary['events']}"
            if self.fail_on_partial:
                raise AirflowException(message)
            self.log.warning("%s", message)
        return summary

    @staticmethod
    def check_conf_keys(context: Context, declared: set[str]) -> None:
        """Fail, without retries, on a conf key that is not one of the DAG's declared Params.

        The run's params already include every conf key, so the DAG's own declaration is the
        reference.
        """
        from airflow_provider_broadbean._compat import AirflowFailException

        dag_run = context.get("dag_run")
        conf = getattr(dag_run, "conf", None) or {}
        unknown = sorted(set(conf) - declared)
        if unknown:
            raise AirflowFailException(
                f"unknown conf key(s): {', '.join(unknown)}; this DAG takes: {', '.join(sorted(declared))}"
            )

    def run_action(self, mapped_run: tuple[str, int] | None = None) -> RunResult:
        """Validate the rendered parameters, build the clients from the connections, and run.

        :param mapped_run: the DAG run id and map index of a mapped task: with ``profile_keys`` the
            run then writes the state shard the planning step announced for it.
        :raises ShardError: that shard was not announced, or was merged already.
        """
        from airflow_provider_broadbean.connector import check_action, run_checked
        from airflow_provider_broadbean.events import keys_from_webhook
        from airflow_provider_broadbean.fanout import ShardError, open_shard
        from airflow_provider_broadbean.hooks.broadbean import BroadbeanHook
        from airflow_provider_broadbean.hooks.hrflow import HrFlowHook
        from airflow_provider_broadbean.parameters import ParameterError, check_bool
        from airflow_provider_broadbean.pipeline import RunOptions
        from airflow_provider_broadbean.result import Reason, RunResult
        from airflow_provider_broadbean.state import StateError, VariableStateStore, WorkflowState

        source_key, profile_key = self.source_key, self.profile_key
        pull: dict[str, Any] = {}
        if given(self.profile_keys):
            if given(profile_key) or given(self.hrflow_event):
                return RunResult.fatal(
                    Reason.bad_origin_parameters,
                    "profile_keys: not with profile_key or hrflow_event (give one way to name profiles)",
                )
            try:
                pull["profile_keys"] = as_keys(self.profile_keys)
            except ParameterError as exc:
                return RunResult.fatal(Reason.bad_origin_parameters, str(exc))
        elif given(self.hrflow_event):
            try:
                source_key, profile_key = self._keys_from_event(keys_from_webhook)
            except ParameterError as exc:
                return RunResult.fatal(Reason.bad_origin_parameters, str(exc))
        if self.mode == "poll":
            profile_key = None
        elif self.mode == "event" and profile_key in (None, "", "None"):
            return RunResult.fatal(
                Reason.bad_origin_parameters, "profile_key: required (or an hrflow_event that names it)"
            )
        action = check_action(
            workflow_id=self.workflow_id,
            logics=self.logics,
            pull_parameters=text_values({"source_key": source_key, "profile_key": profile_key, **pull}),
            push_parameters=text_values(
                {
                    "client_id": self.client_id,
                    "source_id": self.source_id,
                    "job_id": self.job_id,
                    "shortlist_id": self.shortlist_id,
                    "aplitrak_email_address": self.aplitrak_email_address,
                }
            ),
            format=self.format,
            callback=self.callback,
            persist=as_bool(self.persist),
            incremental=as_bool(self.incremental),
        )
        if isinstance(action, RunResult):
            return action
        try:
            options = RunOptions(
                concurrency=as_int(self.concurrency, "concurrency", low=1, high=64),
                resend_unconfirmed=check_bool(as_bool(self.resend_unconfirmed), "resend_unconfirmed"),
                cv_policy=as_policy(self.cv_policy),
                max_document_bytes=as_int(self.max_document_bytes, "max_document_bytes", low=1),
            )
        except (ParameterError, ValueError) as exc:
            return RunResult.fatal(Reason.bad_action_parameters, str(exc))

        store = VariableStateStore()
        state: WorkflowState | None = None
        if mapped_run is not None and action.pull.profile_keys is not None and action.persist:
            try:
                state = open_shard(
                    store,
                    action.workflow_id,
                    run_id=mapped_run[0],
                    map_index=mapped_run[1],
                    profile_keys=action.pull.profile_keys,
                    job_id=action.push.job_id,
                )
            except ShardError:
                raise
            except StateError as exc:
                return RunResult.fatal(Reason.state_failure, str(exc))

        pool_size = max(10, 2 * options.concurrency)  # preparing and sending threads share them
        hrflow = HrFlowHook(hrflow_conn_id=self.hrflow_conn_id, pool_size=pool_size).get_conn()
        hub = (
            BroadbeanHook(broadbean_conn_id=self.broadbean_conn_id, pool_size=pool_size).get_conn()
            if action.persist
            else None
        )
        try:
            return run_checked(
                action, hrflow=hrflow, hub=hub, state_store=store, options=options, state=state
            )
        finally:
            hrflow.close()
            if hub is not None:
                hub.close()

    def _keys_from_event(self, parse_event: Callable[[Any], tuple[str, str]]) -> tuple[str, str]:
        """Source and profile keys from the webhook body; given keys must agree with it."""
        from airflow_provider_broadbean.parameters import ParameterError

        event = self.hrflow_event
        if isinstance(event, str):
            try:
                event = json.loads(event)
            except ValueError:
                raise ParameterError("hrflow_event: not a JSON object") from None
        source_key, profile_key = parse_event(event)
        for name, named, found in (
            ("source_key", self.source_key, source_key),
            ("profile_key", self.profile_key, profile_key),
        ):
            if named and named != found:
                raise ParameterError(f"{name}: {named!r} differs from the webhook event's {found!r}")
        return source_key, profile_key

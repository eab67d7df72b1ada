"""The hrflow-connectors style entry point: ``Broadbean.create_profiles_in_broadbean(...)``.

It runs in plain Python with no Airflow scheduler or database. Parameters are checked before any
network call; a missing or ill-typed one gives a fatal result whose ``detail`` names it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_broadbean.parameters import (
    BroadbeanAuth,
    HrFlowAuth,
    ParameterError,
    PullParameters,
    PushParameters,
    check_bool,
    check_callable,
    check_logics,
    check_workflow_id,
    parse,
)
from airflow_provider_broadbean.pipeline import CreateProfilesRun, RunOptions
from airflow_provider_broadbean.result import Reason, RunResult
from airflow_provider_broadbean.state import JsonFileStateStore, StateStore, WorkflowState

if TYPE_CHECKING:
    from airflow_provider_broadbean.candidate_hub import CandidateHubClient
    from airflow_provider_broadbean.hrflow_client import HrFlowApi


class Broadbean:
    """The Broadbean connector's actions, named and shaped as in hrflow-connectors."""

    @staticmethod
    def create_profiles_in_broadbean(
        *,
        workflow_id: str,
        logics: list[Any] | None,
        connector_auth: dict[str, Any],
        hrflow_auth: dict[str, Any],
        pull_parameters: dict[str, Any],
        push_parameters: dict[str, Any],
        format: Any = None,
        callback: Any = None,
        persist: bool = True,
        incremental: bool = False,
        state_store: StateStore | None = None,
        options: RunOptions | None = None,
    ) -> RunResult:
        """Send HrFlow profiles to the Candidate Hub as candidates for a job.

        :param workflow_id: stable id under which the incremental state is kept.
        :param logics: functions applied in order to each profile; each returns the profile
            (possibly changed) or None to drop it.
        :param connector_auth: ``secret_key`` (signs requests), optional ``api_url`` (hub origin) and
            ``signing_source_id``.
        :param hrflow_auth: ``api_secret``, ``api_user``, optional ``api_url`` (API root).
        :param pull_parameters: ``source_key`` and, in event mode, ``profile_key``; without
            ``profile_key`` the source's profiles are polled, oldest first. Beyond hrflow-connectors,
            ``profile_keys`` (a list) sends exactly those profiles, with the ledger's skip rules and
            the retry list kept as in a poll, and no cursor moved.
        :param push_parameters: ``client_id``, ``source_id``, ``job_id``, optional ``shortlist_id`` and
            ``aplitrak_email_address``.
        :param format: turns a profile into a candidate dict; default
            :func:`airflow_provider_broadbean.mapping.default_format`.
        :param callback: ``callback(pull_parameters, push_parameters, events, items)`` called once at
            the end of a run that is not fatal; ``items`` are the candidates, documents reduced to
            name, type and size.
        :param persist: False for a dry run: read, logics and format, log the payloads, send nothing.
        :param incremental: in poll mode, read only what changed since the last run of this workflow.
        :param state_store: where the workflow state lives; a JSON file per workflow in
            ``$BROADBEAN_STATE_DIR`` (default ``~/.airflow_provider_broadbean/state``) when None.
        :param options: concurrency, attachment limits and the other :class:`RunOptions`.
        """
        try:
            hub_auth = parse(BroadbeanAuth, connector_auth, "connector_auth")
            hr_auth = parse(HrFlowAuth, hrflow_auth, "hrflow_auth")
            if options is not None and not isinstance(options, RunOptions):
                raise ParameterError(f"options: expected RunOptions, got {type(options).__name__}")
            if state_store is not None and not (
                callable(getattr(state_store, "load", None)) and callable(getattr(state_store, "save", None))
            ):
                raise ParameterError("state_store: expected an object with load() and save() methods")
        except ParameterError as exc:
            return RunResult.fatal(Reason.bad_action_parameters, str(exc))
        action = check_action(
            workflow_id=workflow_id,
            logics=logics,
            pull_parameters=pull_parameters,
            push_parameters=push_parameters,
            format=format,
            callback=callback,
            persist=persist,
            incremental=incremental,
        )
        if isinstance(action, RunResult):
            return action

        from airflow_provider_broadbean.candidate_hub import CandidateHubClient
        from airflow_provider_broadbean.hrflow_client import HrFlowApi

        # Up to 2 x concurrency threads (preparing and sending) share each client's connections.
        pool_size = max(10, 2 * (options or RunOptions()).concurrency)
        hrflow = HrFlowApi(
            api_secret=hr_auth.api_secret,
            api_user=hr_auth.api_user,
            api_url=hr_auth.api_url,
            pool_size=pool_size,
        )
        hub = CandidateHubClient(
            secret_key=hub_auth.secret_key,
            base_url=hub_auth.api_url,
            signing_source_id=hub_auth.signing_source_id,
            pool_size=pool_size,
        )
        try:
            return run_checked(
                action,
                hrflow=hrflow,
                hub=hub,
                state_store=state_store or JsonFileStateStore(),
                options=options,
            )
        finally:
            hrflow.close()
            hub.close()


@dataclass(frozen=True)
class CheckedAction:
    """The action's parameters once checked; built by :func:`check_action`."""

    workflow_id: str
    pull: PullParameters
    push: PushParameters
    logics: list[Any]
    format: Any
    callback: Any
    persist: bool
    incremental: bool
    pull_parameters: dict[str, Any]
    push_parameters: dict[str, Any]


def check_action(
    *,
    workflow_id: Any,
    logics: Any,
    pull_parameters: Any,
    push_parameters: Any,
    format: Any,
    callback: Any,
    persist: Any,
    incremental: Any,
) -> CheckedAction | RunResult:
    """Check the parameters shared by the plain call and the operator, before any network call.

    Returns a fatal result naming the first bad parameter (pull parameters as
    ``bad_origin_parameters``, push parameters as ``bad_target_parameters``, the others as
    ``bad_action_parameters``), or the checked values.
    """
    try:
        pull = parse(PullParameters, pull_parameters, "pull_parameters")
    except ParameterError as exc:
        return RunResult.fatal(Reason.bad_origin_parameters, str(exc))
    try:
        push = parse(PushParameters, push_parameters, "push_parameters")
    except ParameterError as exc:
        return RunResult.fatal(Reason.bad_target_parameters, str(exc))
    try:
        return CheckedAction(
            workflow_id=check_workflow_id(workflow_id),
            pull=pull,
            push=push,
            logics=check_logics(logics),
            format=check_callable(format, "format"),
            callback=check_callable(callback, "callback"),
            persist=check_bool(persist, "persist"),
            incremental=check_bool(incremental, "incremental"),
            pull_parameters=dict(pull_parameters),
            push_parameters=dict(push_parameters),
        )
    except ParameterError as exc:
        return RunResult.fatal(Reason.bad_action_parameters, str(exc))


def run_checked(
    action: CheckedAction,
    *,
    hrflow: HrFlowApi,
    hub: CandidateHubClient | None,
    state_store: StateStore,
    options: RunOptions | None,
    state: WorkflowState | None = None,
) -> RunResult:
    """Run a checked action with clients built from credentials (plain call) or hooks (operator).

    :param state: the state document to use instead of the workflow's own in ``state_store`` (a
        mapped task's shard, see :mod:`airflow_provider_broadbean.fanout`).
    """
    return CreateProfilesRun(
        workflow_id=action.workflow_id,
        pull=action.pull,
        push=action.push,
        hrflow=hrflow,
        hub=hub if action.persist else None,
        state=state or WorkflowState(state_store, action.workflow_id),
        logics=action.logics,
        format=action.format,
        callback=action.callback,
        persist=action.persist,
        incremental=action.incremental,
        options=options,
        pull_parameters=action.pull_parameters,
        push_parameters=action.push_parameters,
    ).run()

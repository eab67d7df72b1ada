"""The action "create profiles in Broadbean": read, apply logics, format, push, record.

One profile goes through the stages on one worker thread; a bounded pool runs up to
``concurrency`` profiles at once, so memory is bounded by the concurrency and not by the size of
the run. The state (delivery ledger, pending sends, poll cursor) is written after every batch.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ValidationError

from airflow_provider_broadbean.exceptions import HrFlowError, HubError, MappingError
from airflow_provider_broadbean.parameters import PullParameters, PushParameters, describe
from airflow_provider_broadbean.result import Event, Reason, RunResult
from airflow_provider_broadbean.state import StateError, WorkflowState

if TYPE_CHECKING:
    from airflow_provider_broadbean.candidate_hub import CandidateHubClient
    from airflow_provider_broadbean.hrflow_client import HrFlowApi

log = logging.getLogger(__name__)

Logic = Callable[[dict[str, Any]], "dict[str, Any] | None"]
Format = Callable[[dict[str, Any]], dict[str, Any]]
Callback = Callable[[dict[str, Any], dict[str, Any], Counter, list[dict[str, Any]]], Any]


@dataclass(frozen=True)
class RunOptions:
    """How a run behaves beyond the hrflow-connectors parameters.

    :param concurrency: profiles processed (downloaded, formatted, pushed) at once.
    :param resend_unconfirmed: resend profiles whose earlier send may have reached the hub without
        a readable reply. Off by default: a resend can create a second candidate.
    :param max_document_bytes: size limit of one attachment download.
    :param cv_policy: ``"fail"`` (a profile whose CV cannot be fetched fails and is retried by a later
        run) or ``"send_without"`` (it is sent without the CV, with a warning).
    :param poll_overlap: how far below the cursor a poll looks again, for profiles that share or
        straddle the cursor's timestamp; the ledger drops those already delivered.
    :param page_size: profiles per listing page in poll mode.
    :param progress_every: seconds between progress lines in the log.
    """

    concurrency: int = 4
    resend_unconfirmed: bool = False
    max_document_bytes: int = 10 * 1024 * 1024
    cv_policy: Literal["fail", "send_without"] = "fail"
    poll_overlap: timedelta = timedelta(minutes=10)
    page_size: int = 100
    progress_every: float = 30.0


@dataclass
class _Outcome:
    """What one profile went through; counted by the main thread."""

    key: str
    events: list[Event] = field(default_factory=list)
    transaction_id: str | None = None
    error: str | None = None
    ambiguous: bool = False
    retry_later: bool = False
    item: dict[str, Any] | None = None


@dataclass
class _WorkItem:
    key: str
    profile: dict[str, Any] | None = None


class _Tagged(logging.LoggerAdapter):
    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        return f"[workflow_id={self.extra['workflow_id'] if self.extra else '?'}] {msg}", kwargs


def build_envelope(candidate: dict[str, Any], push: PushParameters) -> dict[str, Any]:
    """The request body: transaction, candidate and context, unset optional values left out.

    :raises ValidationError: when the candidate or the ids do not fit Broadbean's model.
    """
    from airflow_provider_broadbean.models import Envelope

    context: dict[str, Any] = {"job_id": push.job_id}
    if push.shortlist_id:
        context["shortlist_id"] = push.shortlist_id
    if push.aplitrak_email_address:
        context["supplementary"] = {"aplitrak_email_address": push.aplitrak_email_address}
    envelope = Envelope.model_validate(
        {
            "transaction": {"client_id": push.client_id, "source_id": push.source_id},
            "candidate": candidate,
            "context": context,
        }
    )
    return envelope.to_json_dict()


def _decoded_size(content: str) -> int:
    """Bytes behind standard base64 text, without decoding it."""
    return len(content) * 3 // 4 - content[-2:].count("=")


def redact_documents(payload: dict[str, Any]) -> dict[str, Any]:
    """A copy of an envelope or candidate whose documents show their name and size, not content."""
    candidate = payload.get("candidate", payload)
    documents = candidate.get("documents") if isinstance(candidate, dict) else None
    if not isinstance(documents, list):
        return payload
    shown = [
        {
            "filename": doc.get("filename"),
            "type": doc.get("type"),
            "size": _decoded_size(doc.get("content") or ""),
        }
        for doc in documents
        if isinstance(doc, dict)
    ]
    if candidate is payload:
        return {**payload, "documents": shown}
    return {**payload, "candidate": {**candidate, "documents": shown}}


def _parse_time(value: Any) -> datetime | None:
    from airflow_provider_broadbean.dates import parse_hrflow_datetime

    return parse_hrflow_datetime(value)


class CreateProfilesRun:
    """One run of the action. Build it, then call :meth:`run` once."""

    def __init__(
        self,
        *,
        workflow_id: str,
        pull: PullParameters,
        push: PushParameters,
        hrflow: HrFlowApi,
        hub: CandidateHubClient | None,
        state: WorkflowState,
        logics: list[Logic] | None = None,
        format: Format | None = None,
        callback: Callback | None = None,
        persist: bool = True,
        incremental: bool = False,
        options: RunOptions | None = None,
        pull_parameters: dict[str, Any] | None = None,
        push_parameters: dict[str, Any] | None = None,
    ) -> None:
        from airflow_provider_broadbean.mapping import default_format

        self.workflow_id = workflow_id
        self.pull = pull
        self.push = push
        self.hrflow = hrflow
        self.hub = hub
        self.state = state
        self.logics = list(logics or [])
        self.format: Format = format or default_format
        self.callback = callback
        self.persist = persist
        self.incremental = incremental
        self.options = options or RunOptions()
        self.pull_parameters = pull_parameters if pull_parameters is not None else pull.model_dump()
        self.push_parameters = push_parameters if push_parameters is not None else push.model_dump()
        self.run_id = uuid.uuid4().hex[:12]
        self.log = _Tagged(log, {"workflow_id": workflow_id})
        self.events = Event.empty_counter()
        self.result_delivered: dict[str, str] = {}
        self.result_unconfirmed: list[str] = []
        self.result_failed: dict[str, str] = {}
        self.items: list[dict[str, Any]] = []
        self._started = time.monotonic()
        self._last_progress = self._started

    # The run -----------------------------------------------------------------------------------

    def run(self) -> RunResult:
        """Run the action; never raises for bad data, only returns a result."""
        try:
            self.state.load()
        except StateError as exc:
            self.log.error("Cannot read the workflow state: %s", exc)
            return RunResult.fatal(Reason.state_failure, str(exc))

        mode = "event" if self.pull.profile_key else "poll"
        self.log.info(
            "Starting run %s: mode=%s source=%s job=%s persist=%s incremental=%s concurrency=%s",
            self.run_id,
            mode,
            self.pull.source_key,
            self.push.job_id,
            self.persist,
            self.incremental,
            self.options.concurrency,
        )
        try:
            if mode == "event":
                self._process_all(iter([_WorkItem(str(self.pull.profile_key))]))
            else:
                self._poll()
        except HrFlowError as exc:
            self.events[Event.read_failure] += 1
            self.log.error("Reading source %s failed: %s", self.pull.source_key, exc)
            return self._finish(detail=str(exc))
        except StateError as exc:
            self.log.error("Cannot write the workflow state: %s", exc)
            return RunResult.fatal(Reason.state_failure, str(exc), self.events)

        self._run_callback()
        return self._finish()

    def _poll(self) -> None:
        """Poll mode: the source's profiles not handled yet, oldest first."""
        sort_by = "updated_at"
        since: datetime | None = None
        cursor = _parse_time(self.state.cursor) if self.incremental else None
        if cursor is not None:
            since = cursor - self.options.poll_overlap

        listed: dict[str, tuple[datetime, datetime]] = {}
        newest: datetime | None = None
        epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
        for page in self.hrflow.iter_profile_keys(
            self.pull.source_key, sort_by=sort_by, order_by="desc", page_size=self.options.page_size
        ):
            stop = False
            for entry in page:
                updated = (
                    _parse_time(entry.get("updated_at")) or _parse_time(entry.get("created_at")) or epoch
                )
                created = _parse_time(entry.get("created_at")) or updated
                newest = updated if newest is None or updated > newest else newest
                if since is not None and updated < since:
                    stop = True
                    continue
                listed[str(entry["key"])] = (created, updated)
            if stop:
                break

        keys = sorted(listed, key=lambda key: (listed[key][0], key))
        if self.incremental:
            retry = [key for key in self.state.retry_keys() if key not in listed]
            if retry:
                self.log.info("Retrying %s profiles that failed in earlier runs", len(retry))
            keys = retry + keys
        self.log.info("Poll found %s profiles to consider (cursor=%s)", len(keys), self.state.cursor)
        self._process_all(_WorkItem(key) for key in keys)

        if self.incremental and newest is not None and self.persist:
            self.state.set_cursor(sort_by, newest.astimezone(timezone.utc).isoformat(timespec="seconds"))
            self.state.save()

    def _process_all(self, items: Iterator[_WorkItem]) -> None:
        """Skip what the ledger settles, then process the rest in batches on the pool."""
        batch_size = max(1, self.options.concurrency) * 2
        with ThreadPoolExecutor(
            max_workers=max(1, self.options.concurrency), thread_name_prefix="broadbean-push"
        ) as pool:
            batch: list[_WorkItem] = []
            for item in items:
                if self._settled(item.key):
                    continue
                batch.append(item)
                if len(batch) >= batch_size:
                    self._run_batch(pool, batch)
                    batch = []
            if batch:
                self._run_batch(pool, batch)

    def _settled(self, key: str) -> bool:
        """True when the ledger says this profile needs nothing: delivered, or unconfirmed."""
        delivered = self.state.delivered(key, self.push.job_id)
        if delivered:
            self.events[Event.skipped_already_delivered] += 1
            self.log.info(
                "Profile %s already delivered for job %s (transaction %s); skipped",
                key,
                self.push.job_id,
                delivered.get("transaction_id"),
            )
            return True
        pending = self.state.pending(key, self.push.job_id)
        if pending and not self.options.resend_unconfirmed:
            self.events[Event.skipped_unconfirmed] += 1
            self.result_unconfirmed.append(key)
            self.log.warning(
                "Profile %s has an unconfirmed send for job %s since %s; not resent "
                "(set resend_unconfirmed to resend it)",
                key,
                self.push.job_id,
                pending.get("since"),
            )
            return True
        if pending:
            self.log.warning("Profile %s: resending an unconfirmed send, as asked", key)
        return False

    def _run_batch(self, pool: ThreadPoolExecutor, batch: list[_WorkItem]) -> None:
        if self.persist:
            self.state.mark_pending((item.key for item in batch), self.push.job_id, self.run_id)
            self.state.save()
        for outcome in pool.map(self._process_one, batch):
            self._record(outcome)
        if self.persist:
            self.state.save()
        self._progress()

    # One profile -------------------------------------------------------------------------------

    def _process_one(self, item: _WorkItem) -> _Outcome:
        outcome = _Outcome(key=item.key)
        try:
            self._stages(item, outcome)
        except Exception as exc:  # a bug must cost one profile, not the run
            self.log.exception("Profile %s: unexpected error", item.key)
            outcome.events.append(Event.format_failure)
            outcome.error = f"unexpected {type(exc).__name__}"
        return outcome

    def _stages(self, item: _WorkItem, outcome: _Outcome) -> None:
        from airflow_provider_broadbean.documents import DocumentOptions, use_document_options

        key = item.key
        profile = item.profile
        if profile is None:
            try:
                profile = self.hrflow.get_profile(self.pull.source_key, key)
            except HrFlowError as exc:
                outcome.events.append(Event.read_failure)
                outcome.error = str(exc)
                outcome.retry_later = True
                return
            if profile is None:
                outcome.events.append(Event.not_found)
                self.log.info("Profile %s not found in source %s; nothing to send", key, self.pull.source_key)
                return
        outcome.events.append(Event.read_success)

        for index, logic in enumerate(self.logics):
            try:
                profile = logic(profile)
            except Exception as exc:
                outcome.events.append(Event.logics_failure)
                outcome.error = f"logic {index} ({getattr(logic, '__name__', 'logic')}) raised {exc!r}"
                return
            if profile is None:
                outcome.events.append(Event.logics_discard)
                self.log.info("Profile %s discarded by logic %s", key, index)
                return

        options = DocumentOptions(
            fetcher=lambda url: self.hrflow.download(url, max_bytes=self.options.max_document_bytes),
            max_bytes=self.options.max_document_bytes,
            cv_policy=self.options.cv_policy,
        )
        try:
            with use_document_options(options):
                candidate = self.format(profile)
            envelope = build_envelope(candidate, self.push)
        except MappingError as exc:
            outcome.events.append(Event.format_failure)
            outcome.error = str(exc)
            outcome.retry_later = exc.field == "documents"
            return
        except ValidationError as exc:
            outcome.events.append(Event.format_failure)
            outcome.error = f"profile {key}: invalid candidate: {describe(exc, 'candidate')}"
            return
        except Exception as exc:
            outcome.events.append(Event.format_failure)
            outcome.error = f"profile {key}: format raised {type(exc).__name__}: {exc}"
            return
        outcome.item = redact_documents(envelope["candidate"])

        if not self.persist or self.hub is None:
            outcome.events.append(Event.dry_run)
            self.log.info("Dry run: profile %s would be sent as %s", key, redact_documents(envelope))
            return

        try:
            outcome.transaction_id = self.hub.send(envelope)
        except HubError as exc:
            outcome.error = str(exc)
            if exc.ambiguous:
                outcome.ambiguous = True
                outcome.events.append(Event.unconfirmed)
            else:
                outcome.events.append(Event.write_failure)
                outcome.retry_later = exc.retryable or exc.status is None
            return
        outcome.events.append(Event.write_success)

    def _record(self, outcome: _Outcome) -> None:
        """Count one outcome, log it once, and update the state."""
        for event in outcome.events:
            self.events[event] += 1
        job_id = self.push.job_id
        key = outcome.key
        if outcome.transaction_id:
            self.state.record_delivery(key, job_id, outcome.transaction_id)
            self.result_delivered[key] = outcome.transaction_id
            self.log.info(
                "Profile %s delivered for job %s: transaction %s", key, job_id, outcome.transaction_id
            )
        elif outcome.ambiguous:
            self.result_unconfirmed.append(key)
            self.log.error("Profile %s: send unconfirmed, kept as pending: %s", key, outcome.error)
        else:
            self.state.clear_pending(key, job_id)
            if outcome.error:
                self.result_failed[key] = outcome.error
                self.log.error("Profile %s failed: %s", key, outcome.error)
            if self.persist and self.incremental:
                if outcome.retry_later:
                    self.state.record_retry(key, outcome.error or "failed")
                else:
                    self.state.clear_retry(key)
        if outcome.item is not None:
            self.items.append(outcome.item)

    def _progress(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_progress < self.options.progress_every:
            return
        self._last_progress = now
        elapsed = max(now - self._started, 1e-6)
        handled = sum(self.events[e] for e in (Event.read_success, Event.read_failure, Event.not_found))
        self.log.info(
            "Progress: read=%s sent=%s failed=%s unconfirmed=%s in %.0f s (%.1f profiles/s)",
            handled,
            self.events[Event.write_success],
            len(self.result_failed),
            len(self.result_unconfirmed),
            elapsed,
            handled / elapsed,
        )

    # The end -----------------------------------------------------------------------------------

    def _run_callback(self) -> None:
        """Call the callback once, unless every profile failed at one stage (a fatal run)."""
        if self.callback is None or RunResult.from_events(self.events).reason is not Reason.none:
            return
        try:
            self.callback(self.pull_parameters, self.push_parameters, self.events, self.items)
        except Exception as exc:
            self.events[Event.callback_failure] += 1
            self.log.error("Callback failed: %s: %s", type(exc).__name__, exc)
        finally:
            self.events[Event.callback_executed] += 1

    def _finish(self, detail: str | None = None) -> RunResult:
        result = RunResult.from_events(
            self.events,
            delivered=self.result_delivered,
            unconfirmed=self.result_unconfirmed,
            failed=self.result_failed,
        )
        if result.reason is not Reason.none:
            result.detail = detail or next(iter(self.result_failed.values()), None)
        self._progress(force=True)
        self.log.info(
            "Run %s finished: status=%s reason=%s events=%s",
            self.run_id,
            result.status.value,
            result.reason.value,
            {event.value: count for event, count in self.events.items() if count},
        )
        return result


def replace_options(options: RunOptions | None, **changes: Any) -> RunOptions:
    """A copy of ``options`` (or the defaults) with the given fields changed."""
    return dataclasses.replace(options or RunOptions(), **changes)

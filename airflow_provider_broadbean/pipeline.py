"""The action "create profiles in Broadbean": read, apply logics, format, push, record.

Up to ``concurrency`` profiles are being sent at any time, and more are being prepared (read,
logics, format, documents) behind them; a poll reads the source's pages of profiles while earlier
profiles are being sent. Memory is therefore bounded by the concurrency and the page size, not by
the size of the run. A profile is marked pending in the state before its send leaves: a writer
thread writes the marks of the profiles that are ready, with the outcomes recorded since its last
write, and a freed send slot takes a profile whose mark is written. A worker killed mid-run
therefore leaves pending the sends in flight and the profiles marked to go next (at most
``concurrency`` each); an interrupted run that can still act (a timeout, a failed write) unmarks
what did not leave. The last write of a run is read back to make sure a concurrent run did not
overwrite it.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from queue import Empty, SimpleQueue
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ValidationError

from airflow_provider_broadbean.exceptions import HrFlowError, HubError, MappingError
from airflow_provider_broadbean.parameters import PullParameters, PushParameters, describe
from airflow_provider_broadbean.result import Event, Reason, RunResult
from airflow_provider_broadbean.state import PollTargetError, StateError, WorkflowState, utc_text

if TYPE_CHECKING:
    from airflow_provider_broadbean.candidate_hub import CandidateHubClient
    from airflow_provider_broadbean.hrflow_client import HrFlowApi

log = logging.getLogger(__name__)

SAVE_EVERY = 0.25
"""Seconds recorded outcomes may wait for the next group's state write before they are written alone."""
STOP_WAIT = 300.0
"""Seconds a stopping run waits for its sends in flight to end. The hub client bounds one candidate's
attempts and waits (about 190 s with its defaults), so this is only reached by a send held beyond
its timeouts (a reply trickling in byte by byte, a lock left held by an interrupted thread): its
profile then stays marked as an unconfirmed send, and the run stops."""
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

Logic = Callable[[dict[str, Any]], "dict[str, Any] | None"]
Format = Callable[[dict[str, Any]], dict[str, Any]]
Callback = Callable[[dict[str, Any], dict[str, Any], Counter, list[dict[str, Any]]], Any]


@dataclass(frozen=True)
class RunOptions:
    """How a run behaves beyond the hrflow-connectors parameters.

    :param concurrency: profiles sent to the hub at once (pooled keep-alive connections); up to as
        many more wait prepared (read, formatted, documents downloaded) for a free slot.
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

    def __post_init__(self) -> None:
        """Refuse nonsense at construction, naming the option, before any run starts."""
        whole = {"concurrency": (1, 64), "max_document_bytes": (1, None), "page_size": (1, 1000)}
        for name, (low, high) in whole.items():
            value = getattr(self, name)
            if (
                not isinstance(value, int)
                or isinstance(value, bool)
                or value < low
                or (high and value > high)
            ):
                bound = f"{low} to {high}" if high else f"at least {low}"
                raise ValueError(f"options.{name}: expected a whole number, {bound}")
        if not isinstance(self.resend_unconfirmed, bool):
            raise ValueError("options.resend_unconfirmed: expected true or false")
        if self.cv_policy not in ("fail", "send_without"):
            raise ValueError("options.cv_policy: expected 'fail' or 'send_without'")
        if not isinstance(self.poll_overlap, timedelta) or self.poll_overlap < timedelta(0):
            raise ValueError("options.poll_overlap: expected a timedelta of zero or more")
        if not isinstance(self.progress_every, int | float) or self.progress_every <= 0:
            raise ValueError("options.progress_every: expected a positive number of seconds")


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
    body: bytes | None = None  # the encoded envelope, ready to send; dropped once sent
    source_id: str = ""  # the envelope's transaction.source_id
    sent: bool = False
    updated_at: str | None = None  # the profile's, as read: the ledger keeps what a poll may list again
    refused_credentials: bool = False  # HrFlow 401, or the hub's 401/403: the connection is wrong
    recorded: bool = False  # counted and written into the state by the main thread


@dataclass
class _WorkItem:
    """A profile to handle: its key, and from a listing page the profile and its update time."""

    key: str
    profile: dict[str, Any] | None = None
    updated_at: str | None = None  # as the state writes times (utc_text)


@dataclass
class PollWalk:
    """A poll's walk down the source's pages, most recently updated first.

    :param since: the walk stops at the first profile updated before this (None: walk them all).
    :param started: when the walk started; a profile stamped later (a wrong clock upstream) counts
        as updated then, so it cannot carry the cursor past profiles stored after this poll.
    """

    since: datetime | None
    started: datetime
    newest: datetime | None = None
    listed: int = 0

    @staticmethod
    def updated(profile: dict[str, Any]) -> datetime:
        """When a listed profile last changed, as HrFlow stamped it (created, when never updated)."""
        stamp = _parse_time(profile.get("updated_at")) or _parse_time(profile.get("created_at"))
        return stamp or EPOCH

    def seen(self, profile: dict[str, Any]) -> datetime:
        """The time a cursor may take from this profile: its update time, at most the walk's start."""
        return min(self.updated(profile), self.started)

    def items(self, pages: Iterable[list[dict[str, Any]]], handled: set[str]) -> Iterator[_WorkItem]:
        """Each page's profiles not in ``handled`` (which grows), oldest first within the page."""
        for page in pages:
            below_since = False
            entries: list[tuple[datetime, str, dict[str, Any], datetime]] = []
            for profile in page:
                updated = self.updated(profile)
                created = _parse_time(profile.get("created_at")) or updated
                seen = min(updated, self.started)
                self.newest = seen if self.newest is None or seen > self.newest else self.newest
                if self.since is not None and updated < self.since:
                    below_since = True
                    continue
                key = str(profile["key"])
                if key not in handled:
                    handled.add(key)
                    entries.append((created, key, profile, updated))
            entries.sort(key=lambda entry: (entry[0], entry[1]))
            self.listed += len(entries)
            for _, key, profile, updated in entries:
                yield _WorkItem(key, profile, utc_text(updated) if updated != EPOCH else None)
            if below_since:
                return


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


def _worth_retrying(error: HubError) -> bool:
    """Whether a poll should try a refused candidate again on its next run.

    Yes for what the hook retries (429, 5xx, no connection), for 401 and 403 (they refuse the
    sender's secret or source id, not the candidate: once the connection is fixed it must still go)
    and for a reply that is not the hub's JSON answer (a proxy or maintenance page: the hub never
    judged the candidate). No for the hub's own refusal of the candidate (400, 413, ``success: 0``):
    sending it unchanged would fail again; an edit of the profile brings it back.
    """
    return error.retryable or error.status in (None, 401, 403) or error.error is None


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
        if pull_parameters is None:  # as hrflow-connectors shows them: no profile_keys unless given
            unset = {"profile_keys"} if pull.profile_keys is None else None
            pull_parameters = pull.model_dump(exclude=unset)
        self.pull_parameters = pull_parameters
        self.push_parameters = push_parameters if push_parameters is not None else push.model_dump()
        self.run_id = uuid.uuid4().hex[:12]
        # A given list of keys (a fan-out batch) moves no cursor, so its transient failures must be
        # remembered for a later poll as in incremental mode.
        self.tracks_retries = incremental or pull.profile_keys is not None
        self.log = _Tagged(log, {"workflow_id": workflow_id})
        self.events = Event.empty_counter()
        self.result_delivered: dict[str, str] = {}
        self.result_unconfirmed: list[str] = []
        self.result_failed: dict[str, str] = {}
        self.items: list[dict[str, Any]] = []
        self._state_changed = False
        self._unsaved = False
        self._preparing: set[Future[_Outcome]] = set()
        self._writing: Future[None] | None = None
        self._writing_group: list[_Outcome] = []
        self._deferred: list[_Outcome] = []
        self._to_send: SimpleQueue[_Outcome | None] = SimpleQueue()  # marked pending, for the senders
        self._in_flight = 0  # handed to the senders and not back yet
        self._senders: list[threading.Thread] = []
        # Done: preparation and write futures, and the outcomes of sends, in the order they end.
        self._finished: SimpleQueue[Future[Any] | _Outcome] = SimpleQueue()
        self._unrecorded: dict[int, _Outcome] = {}  # sends ended, outcome not recorded yet
        self._sending: dict[str, str] = {}  # sender thread name: the profile key it is sending
        self._unqueued: dict[int, _Outcome] = {}  # being marked pending, not handed to a sender yet
        self._credential_refusals = 0
        self._started = time.monotonic()
        self._last_progress = self._started
        self._last_save = self._started

    # The run -----------------------------------------------------------------------------------

    def run(self) -> RunResult:
        """Run the action; never raises for bad data, only returns a result."""
        try:
            self.state.load()
        except StateError as exc:
            self.log.error("Cannot read the workflow state: %s", exc)
            return RunResult.fatal(Reason.state_failure, str(exc))

        mode = "keys" if self.pull.profile_keys is not None else "event" if self.pull.profile_key else "poll"
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
            if mode == "keys":
                self.log.info("Processing %s given profiles", len(self.pull.profile_keys or []))
                self._process_all(_WorkItem(key) for key in self.pull.profile_keys or [])
            elif mode == "event":
                self._process_all(iter([_WorkItem(str(self.pull.profile_key))]))
            else:
                self._poll()
            if self.persist and (self._unsaved or self._state_changed):
                self.state.save(confirm=True)
        except HrFlowError as exc:
            self.events[Event.read_failure] += 1
            self._credential_refusals += exc.status == 401
            self.log.error("Reading source %s failed: %s", self.pull.source_key, exc)
            return self._finish(detail=str(exc))
        except PollTargetError as exc:  # refused before anything was read or sent
            self.log.error("%s", exc)
            return RunResult.fatal(Reason.bad_action_parameters, str(exc), self.events)
        except StateError as exc:
            self.log.error("Cannot write the workflow state: %s", exc)
            return RunResult.fatal(Reason.state_failure, str(exc), self.events)
        except BaseException:
            # Stopped from outside (a task timeout) after the sends, during the last write: what
            # was recorded must still be written, or the next run reports deliveries unconfirmed.
            if self.persist and self._unsaved:
                try:
                    self._save()
                except StateError as exc:
                    self.log.error("Cannot save the state of the interrupted run: %s", exc)
            raise

        self._run_callback()
        return self._finish()

    def _poll(self) -> None:
        """Poll mode: earlier runs' leftovers, then the source's pages, most recently updated first.

        Pages of whole profiles are read while the profiles of earlier pages are being sent, so
        nothing waits for the walk to end and no more than a page or two is held at once. Within a
        page, profiles go oldest first (``created_at``, then key).
        """
        sort_by = "updated_at"
        since: datetime | None = None
        cursor = _parse_time(self.state.cursor) if self.incremental else None
        if cursor is not None:
            since = cursor - self.options.poll_overlap

        handled: set[str] = set()
        # Even without a cursor: a polled workflow's ledger keeps what a poll may list again.
        self.state.bind_poll(self.pull.source_key, self.push.job_id, lists_all=not self.incremental)
        self.state.relist_window = max(self.state.relist_window, self.options.poll_overlap)
        if self.incremental:
            # Earlier runs' transient failures come back; their unconfirmed sends are reported again
            # (and resent only with resend_unconfirmed), however far behind the cursor they are.
            retry = self.state.retry_keys(self.push.job_id)
            unconfirmed = [key for key in self.state.pending_keys(self.push.job_id) if key not in retry]
            if retry or unconfirmed:
                self.log.info(
                    "Adding %s profiles that failed in earlier runs and %s with an unconfirmed send",
                    len(retry),
                    len(unconfirmed),
                )
            handled.update(retry, unconfirmed)
            leftovers = [_WorkItem(key) for key in retry + unconfirmed]
        else:
            leftovers = []

        walk = PollWalk(since=since, started=datetime.now(timezone.utc))
        self.log.info("Polling source %s (cursor=%s)", self.pull.source_key, self.state.cursor)
        pages = self.hrflow.iter_profile_pages(
            self.pull.source_key, sort_by=sort_by, order_by="desc", page_size=self.options.page_size
        )
        self._process_all(itertools.chain(leftovers, walk.items(pages, handled)))
        self.log.info("Poll listed %s profiles changed since the cursor", walk.listed)

        if self.incremental and walk.newest is not None and self.persist:
            self.state.set_cursor(sort_by, utc_text(walk.newest))
            self._unsaved = True

    def _process_all(self, items: Iterator[_WorkItem]) -> None:
        """Keep ``concurrency`` sends in flight, with profiles being prepared behind them.

        ``concurrency`` sender threads take profiles from a queue, one at a time each, so a sender
        that finishes takes the next profile at once. A profile joins that queue only once it is
        marked pending in the state: one writer thread writes the marks of the profiles that became
        ready during its previous write (a group commit), ahead of the senders. At most
        ``concurrency`` profiles wait prepared and unmarked, and at most ``concurrency`` marked in
        the queue. Outcomes that arrive during a write are recorded after it, so a write sees a
        steady state. What is left unsaved at the end is written by :meth:`run`.
        """
        size = self.options.concurrency
        preparers = max(2, size // 2)  # a preparation mostly waits on one download: fewer suffice
        todo = (item for item in items if not self._settled(item))
        ready: deque[_Outcome] = deque()  # prepared, not marked yet
        exhausted = False
        self._senders = [
            threading.Thread(target=self._send_loop, name=f"broadbean-send-{index}", daemon=True)
            for index in range(size)
        ]
        for thread in self._senders:
            thread.start()
        preparer = ThreadPoolExecutor(max_workers=preparers, thread_name_prefix="broadbean-prepare")
        writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="broadbean-state")
        stopped = False
        try:
            while True:
                while (
                    not exhausted
                    and len(self._preparing) < preparers
                    and len(self._preparing) + len(ready) < size
                ):
                    item = next(todo, None)
                    if item is None:
                        exhausted = True
                    else:
                        self._preparing.add(self._submit(preparer, self._prepare_one, item))
                if self._writing is None:
                    # In flight or queued: at most ``size`` senders busy and ``size`` marked waiting.
                    room = 2 * size - self._in_flight
                    starving = room > 0 and (exhausted or not self._to_send.qsize())
                    if ready and (room >= max(1, size // 2) or starving):
                        self._start_write(writer, [ready.popleft() for _ in range(min(room, len(ready)))])
                    elif self._unsaved and time.monotonic() - self._last_save >= SAVE_EVERY:
                        self._start_write(writer, [])  # make recorded outcomes durable
                if not (self._preparing or self._in_flight or self._writing):
                    break  # nothing prepared either: it would have moved on above
                self._handle(self._finished.get(), ready)
                while not self._finished.empty():  # whatever else ended meanwhile, one by one
                    self._handle(self._finished.get(), ready)
                self._progress()
        except BaseException:
            stopped = True
            self._wind_down()
            raise
        finally:
            self._stop_senders()
            # A stopped run does not wait for preparations under way: they send nothing, and a
            # download trickling in within its read timeout could hold the stop for long.
            preparer.shutdown(wait=not stopped, cancel_futures=stopped)
            writer.shutdown(wait=True)  # a stopped run has awaited its write already

    def _handle(self, event: Future[Any] | _Outcome, ready: deque[_Outcome]) -> None:
        """Take in one thing that ended: a send's outcome, the write under way, or a preparation."""
        if isinstance(event, _Outcome):  # a sender is done with it
            self._in_flight -= 1
            self._record_later(event)
        elif event is self._writing:
            self._finish_write()
        elif event in self._preparing:
            self._preparing.discard(event)
            outcome = event.result()
            if outcome.body is None:
                self._record_later(outcome)
            else:
                ready.append(outcome)

    def _send_loop(self) -> None:
        """A sender thread: send queued profiles one at a time until told to stop (None)."""
        while True:
            outcome = self._to_send.get()
            if outcome is None:
                return
            self._sending[threading.current_thread().name] = outcome.key
            try:
                outcome = self._send_one(outcome)
            finally:
                self._sending.pop(threading.current_thread().name, None)
                self._unrecorded[id(outcome)] = outcome
                self._finished.put(outcome)

    def _stop_senders(self) -> None:
        """Let every sender finish its send in flight, then end it; wait no more than ``STOP_WAIT``.

        A sender still busy after that is left behind (a daemon thread): the profile it holds keeps
        its pending mark, so it is reported as an unconfirmed send, never resent on its own.
        """
        for _ in self._senders:
            self._to_send.put(None)
        deadline = time.monotonic() + STOP_WAIT
        stuck: list[str] = []
        for thread in self._senders:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                stuck.append(self._sending.get(thread.name, "?"))
        if stuck:
            self.log.error(
                "%s send(s) still in flight %s s after the run began to stop; profiles %s stay marked as "
                "unconfirmed sends",
                len(stuck),
                STOP_WAIT,
                ", ".join(sorted(stuck)),
            )
        self._senders = []

    def _submit(self, executor: ThreadPoolExecutor, function: Callable[..., Any], *args: Any) -> Future[Any]:
        """Start ``function`` on ``executor``; its future joins the finished queue when done."""
        future = executor.submit(function, *args)
        future.add_done_callback(self._finished.put)
        return future

    def _settled(self, item: _WorkItem) -> bool:
        """True when the ledger says this profile needs nothing: delivered, or unconfirmed."""
        key = item.key
        delivered = self.state.delivered(key, self.push.job_id)
        if delivered:
            self._forget_retry(key)
            # Listed again: its entry must stay as long as a poll may list it.
            if item.updated_at and self.persist:
                self._unsaved |= self.state.refresh_delivery(key, self.push.job_id, item.updated_at)
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
            self._forget_retry(key)
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

    def _forget_retry(self, key: str) -> None:
        """A settled profile needs no retry entry (its send went, or awaits a person's decision)."""
        if self.persist and self.state.retrying(key, self.push.job_id):
            self.state.clear_retry(key, self.push.job_id)
            self._unsaved = True

    def _start_write(self, writer: ThreadPoolExecutor, group: list[_Outcome]) -> None:
        """Mark ``group`` pending and write the state on the writer thread; the group may leave after.

        Without ``persist`` nothing is written and the group may leave at once.
        """
        if not self.persist:
            self._queue(group)
            return
        for outcome in group:  # until a sender can take it, a stop unmarks it
            self._unqueued[id(outcome)] = outcome
        if group:
            self.state.mark_pending((outcome.key for outcome in group), self.push.job_id, self.run_id)
        self._unsaved = False
        self._writing_group = group
        self._writing = self._submit(writer, self.state.save)

    def _finish_write(self) -> None:
        """The write is done: its group may leave, and the outcomes that waited for it are recorded."""
        assert self._writing is not None
        writing, group = self._writing, self._writing_group
        self._writing, self._writing_group = None, []
        try:
            writing.result()
        except BaseException:
            for outcome in group:  # never sent: no mark may stay behind
                self._unqueued.pop(id(outcome), None)
                self.state.clear_pending(outcome.key, self.push.job_id)
            self._unsaved = True
            raise
        self._state_changed = True
        self._last_save = time.monotonic()
        self._queue(group)
        deferred, self._deferred = self._deferred, []
        for outcome in deferred:
            self._record(outcome)

    def _queue(self, group: list[_Outcome]) -> None:
        """Hand marked profiles to the senders."""
        for outcome in group:
            # Out of the unqueued ones first: a stop in between leaves a mark on a profile that did
            # not leave (reported unconfirmed), never takes the mark off one that may have.
            self._unqueued.pop(id(outcome), None)
            self._to_send.put(outcome)
            self._in_flight += 1

    def _record_later(self, outcome: _Outcome) -> None:
        """Record now, or after the write under way (which must see the state it was given)."""
        if self._writing is not None:
            self._deferred.append(outcome)
        else:
            self._record(outcome)

    def _save(self) -> None:
        self.state.save()
        self._unsaved = False
        self._state_changed = True
        self._last_save = time.monotonic()

    def _wind_down(self) -> None:
        """The run is being stopped (a task timeout, a kill turned into an exception, a failed state
        write, a failed page read): save what is known, so the next run neither resends a delivery
        nor reports as unconfirmed a profile that never left.

        Preparations are cancelled: they send nothing. Marked profiles no sender took are unmarked.
        Sends already in flight cannot be called back, so their outcome is awaited (the hub
        client's timeouts bound it, and ``STOP_WAIT`` bounds the wait) and recorded.
        """
        for future in self._preparing:
            future.cancel()
        self._preparing = set()
        if self._writing is not None:  # its group has not been queued: wait for the write
            wait_for([self._writing])
            self._writing, self._writing_group = None, []
        unsent = list(self._unqueued.values())  # marked, not handed to a sender
        self._unqueued.clear()
        while True:
            try:
                queued = self._to_send.get_nowait()
            except Empty:
                break
            if queued is not None:
                unsent.append(queued)
                self._in_flight -= 1
        for outcome in unsent:
            self.state.clear_pending(outcome.key, self.push.job_id)
            self._unsaved = True
        self._stop_senders()  # every send taken has ended (or keeps its mark after STOP_WAIT)
        deferred, self._deferred = self._deferred, []
        for outcome in deferred:
            if not outcome.recorded:
                self._record(outcome)
        # Every send's outcome, from the senders' own list rather than the queue: a timeout's signal
        # can land just after an outcome was taken off the queue, and it must still be recorded.
        for outcome in list(self._unrecorded.values()):
            if not outcome.recorded:
                self._record(outcome)
        while not self._finished.empty():
            self._finished.get()
        self._in_flight = 0
        if self.persist and self._unsaved:
            try:
                self._save()
            except StateError as exc:
                self.log.error("Cannot save the state of the interrupted run: %s", exc)

    # One profile -------------------------------------------------------------------------------

    def _prepare_one(self, item: _WorkItem) -> _Outcome:
        """Read, apply the logics, format and validate one profile; nothing is sent here."""
        outcome = _Outcome(key=item.key)
        try:
            self._stages(item, outcome)
        except Exception as exc:  # a bug must cost one profile, not the run
            self.log.exception("Profile %s: unexpected error", item.key)
            outcome.events.append(Event.format_failure)
            outcome.error = f"unexpected {type(exc).__name__}"
            outcome.body = None
        return outcome

    def _send_one(self, outcome: _Outcome) -> _Outcome:
        """Send a prepared profile; the hub's answer (or its absence) becomes the outcome."""
        body, outcome.body = outcome.body, None
        if self.hub is None or body is None:
            return outcome
        outcome.sent = True
        try:
            outcome.transaction_id = self.hub.send_encoded(body, source_id=outcome.source_id)
        except HubError as exc:
            outcome.error = str(exc)
            outcome.refused_credentials = exc.status in (401, 403) and not exc.ambiguous
            if exc.ambiguous:
                outcome.ambiguous = True
                outcome.events.append(Event.unconfirmed)
            else:
                outcome.events.append(Event.write_failure)
                outcome.retry_later = _worth_retrying(exc)
            return outcome
        except Exception as exc:  # a bug after the request may have left: treat it as unconfirmed
            self.log.exception("Profile %s: unexpected error while sending", outcome.key)
            outcome.error = f"unexpected {type(exc).__name__} while sending"
            outcome.ambiguous = True
            outcome.events.append(Event.unconfirmed)
            return outcome
        outcome.events.append(Event.write_success)
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
                outcome.refused_credentials = exc.status == 401
                return
            if profile is None:
                outcome.events.append(Event.not_found)
                self.log.info("Profile %s not found in source %s; nothing to send", key, self.pull.source_key)
                return
        outcome.events.append(Event.read_success)
        outcome.updated_at = item.updated_at
        if outcome.updated_at is None:  # read by key, not from a listing page
            updated = PollWalk.updated(profile)
            outcome.updated_at = utc_text(updated) if updated != EPOCH else None

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
        from airflow_provider_broadbean.candidate_hub import encode_envelope

        # Encoded now, in the preparing thread: until its send, the profile holds only these bytes.
        outcome.body = encode_envelope(envelope)
        outcome.source_id = str(envelope["transaction"].get("source_id") or "")

    def _record(self, outcome: _Outcome) -> None:
        """Count one outcome, log it once, and update the state (written by the next save)."""
        if self.persist:
            self._unsaved = True
        for event in outcome.events:
            self.events[event] += 1
        self._credential_refusals += outcome.refused_credentials
        job_id = self.push.job_id
        key = outcome.key
        if outcome.transaction_id:
            self.state.record_delivery(key, job_id, outcome.transaction_id, updated_at=outcome.updated_at)
            self.result_delivered[key] = outcome.transaction_id
            self.log.info(
                "Profile %s delivered for job %s: transaction %s", key, job_id, outcome.transaction_id
            )
        elif outcome.ambiguous:
            if self.persist and self.tracks_retries:
                self.state.clear_retry(key, job_id)  # the pending mark speaks for it now
            self.result_unconfirmed.append(key)
            self.log.error("Profile %s: send unconfirmed, kept as pending: %s", key, outcome.error)
        else:
            if outcome.sent:  # only this run's own send, known to have failed, frees its pending mark
                self.state.clear_pending(key, job_id)
            if outcome.error:
                self.result_failed[key] = outcome.error
                self.log.error("Profile %s failed: %s", key, outcome.error)
            if self.persist and self.tracks_retries:
                if outcome.retry_later:
                    self.state.record_retry(key, outcome.error or "failed", job_id)
                else:
                    self.state.clear_retry(key, job_id)
        if outcome.item is not None:
            self.items.append(outcome.item)
        outcome.recorded = True
        self._unrecorded.pop(id(outcome), None)

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
        result.detail = detail  # a failure that ended the run, such as a page that could not be read
        if result.reason is not Reason.none:
            result.detail = detail or next(iter(self.result_failed.values()), None)
            failures = self.events[Event.read_failure] + self.events[Event.write_failure]
            result.credentials_refused = 0 < failures == self._credential_refusals
        self._progress(force=True)
        self.log.info(
            "Run %s finished: status=%s reason=%s events=%s",
            self.run_id,
            result.status.value,
            result.reason.value,
            {event.value: count for event, count in self.events.items() if count},
        )
        return result

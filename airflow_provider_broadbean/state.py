"""Incremental state per workflow id: the poll cursor, the delivery ledger and pending sends.

The state is one versioned JSON document a person can read. Inside Airflow it lives in an Airflow
Variable (``broadbean_state__<workflow_id>``); outside Airflow in a JSON file. Both stores read and
write the whole document; :class:`WorkflowState` merges what other runs wrote in the meantime before
every write. The JSON file store holds an exclusive file lock across that read, merge and write, so
concurrent runs lose nothing. Airflow Variables are blind upserts with no lock and no
compare-and-set: there every write is read back and written again if a concurrent run overwrote
this run's entries, the last one of a run after a settle delay (see the README's delivery
guarantees for the bound that remains).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import re
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import IO, Any, Protocol, runtime_checkable

from airflow_provider_broadbean.exceptions import BroadbeanProviderError

log = logging.getLogger(__name__)

STATE_VERSION = 1
DEFAULT_LEDGER_SIZE = 20_000
MAX_LEDGER_FACTOR = 5
"""The ledger never holds more than this many times ``ledger_size`` entries, protected ones included."""
DEFAULT_RELIST_WINDOW = timedelta(days=1)
"""Ledger entries whose profile was updated up to this long before the cursor are kept past the
ledger's size: more than any usual poll overlap."""
DEFAULT_STATE_DIR_ENV = "BROADBEAN_STATE_DIR"
VARIABLE_PREFIX = "broadbean_state__"
DEFAULT_SETTLE_SECONDS = 1.0
CONFIRM_ATTEMPTS = 8
SECTIONS = ("delivered", "pending", "retry", "shards")


class StateError(BroadbeanProviderError):
    """The state could not be read or written; a run must not go on without it."""


class PollTargetError(StateError):
    """A poll for a source or job other than the one the workflow's cursor and retry list belong to."""


class StateStore(Protocol):
    """Where the state document of one workflow is kept: a plain read and a whole-document write."""

    def load(self, workflow_id: str) -> dict[str, Any] | None: ...

    def save(self, workflow_id: str, document: dict[str, Any]) -> None: ...


@runtime_checkable
class LockingStateStore(StateStore, Protocol):
    """A store that can keep other writers out while a run reads, merges and writes the document.

    With such a store concurrent runs of one workflow lose no entry; without it (Airflow Variables)
    :meth:`WorkflowState.save` can only read back and repair, which leaves a small bound.
    """

    def locked(self, workflow_id: str) -> contextlib.AbstractContextManager[None]: ...


@runtime_checkable
class DeletableStateStore(StateStore, Protocol):
    """A store that can remove a document: needed for the state shards of a fan-out."""

    def delete(self, workflow_id: str) -> None: ...


def utc_text(moment: datetime) -> str:
    """An aware time as the state writes it: ISO 8601 in UTC to the second, with an explicit offset.

    One form for every time in the document, so that times compare as text.
    """
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def utc_now() -> str:
    """The current time as :func:`utc_text` writes it."""
    return utc_text(datetime.now(timezone.utc))


def _safe_name(workflow_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", workflow_id)


class JsonFileStateStore:
    """One JSON file per workflow in a folder, written atomically (for runs outside Airflow).

    :param directory: the folder; ``$BROADBEAN_STATE_DIR`` or ``~/.airflow_provider_broadbean/state``
        when None.
    """

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        default = (
            os.environ.get(DEFAULT_STATE_DIR_ENV) or Path.home() / ".airflow_provider_broadbean" / "state"
        )
        self.directory = Path(directory or default)

    def _path(self, workflow_id: str) -> Path:
        return self.directory / f"{_safe_name(workflow_id)}.json"

    @contextlib.contextmanager
    def locked(self, workflow_id: str) -> Iterator[None]:
        """Hold an exclusive lock on ``<workflow>.json.lock`` (``flock``; threads and processes alike).

        The lock belongs to the open file, so the kernel releases it when a killed process dies.
        """
        try:
            import fcntl
        except ImportError:  # not POSIX (Airflow workers are): no lock to take
            yield
            return
        path = self._path(workflow_id).with_suffix(".json.lock")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(path, "a+b")  # noqa: SIM115 (held across the yield)
        except OSError as exc:
            raise StateError(f"cannot lock the state of workflow {workflow_id!r} at {path}: {exc}") from None
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            yield
        finally:
            handle.close()

    def load(self, workflow_id: str) -> dict[str, Any] | None:
        path = self._path(workflow_id)
        try:
            return dict(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return None
        except (OSError, TypeError, ValueError) as exc:
            raise StateError(
                f"cannot read the state of workflow {workflow_id!r} from {path}: {exc}"
            ) from None

    def hold(self, workflow_id: str) -> IO[bytes] | None:
        """Open the file as it is now, to tell later whether it is still this version (see
        :meth:`holds_current`); None when there is no file."""
        try:
            return open(self._path(workflow_id), "rb")
        except OSError:
            return None

    def holds_current(self, workflow_id: str, held: IO[bytes]) -> bool:
        """True when the path still names the file ``held`` was opened on.

        Every write replaces the file with a new one. While ``held`` is open, the kernel cannot give
        its inode to another file, so the same device and inode at the path mean that nobody wrote
        since: a run holding :meth:`locked` need not read back what it wrote itself. Unlike sizes
        and modification times, this holds on file systems with coarse time stamps.
        """
        try:
            mine, current = os.fstat(held.fileno()), self._path(workflow_id).stat()
        except (OSError, ValueError):
            return False
        return (mine.st_dev, mine.st_ino) == (current.st_dev, current.st_ino) and mine.st_nlink > 0

    def save(self, workflow_id: str, document: dict[str, Any]) -> None:
        path = self._path(workflow_id)
        temporary: str | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(
                "w", encoding="utf-8", dir=path.parent, delete=False, prefix=f".{path.name}.", suffix=".tmp"
            ) as handle:
                temporary = handle.name
                # One write of compact JSON: the C encoder, not thousands of small writes.
                handle.write(json.dumps(document, ensure_ascii=False, sort_keys=True))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        except (OSError, TypeError, ValueError) as exc:
            if temporary is not None:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
            raise StateError(f"cannot write the state of workflow {workflow_id!r} to {path}: {exc}") from None

    def delete(self, workflow_id: str) -> None:
        """Remove the document; one that is not there is not an error."""
        path = self._path(workflow_id)
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise StateError(
                f"cannot delete the state of workflow {workflow_id!r} at {path}: {exc}"
            ) from None


class VariableStateStore:
    """The state in an Airflow Variable named ``broadbean_state__<workflow_id>``.

    A Variable write is a blind upsert: no lock, no compare-and-set, and some Airflow 3 releases
    swallowed write errors. :class:`WorkflowState` therefore reads every write back and checks that
    this run's entries are in it; a write that does not land fails the task.
    """

    @staticmethod
    def key(workflow_id: str) -> str:
        return VARIABLE_PREFIX + _safe_name(workflow_id)

    def load(self, workflow_id: str) -> dict[str, Any] | None:
        from airflow.sdk import Variable

        key = self.key(workflow_id)
        try:
            value = Variable.get(key, default=None)
        except Exception as exc:
            raise StateError(f"cannot read Airflow Variable {key!r}: {exc}") from None
        if value is None:
            return None
        try:
            return dict(json.loads(value))
        except (TypeError, ValueError) as exc:
            raise StateError(f"Airflow Variable {key!r} does not hold a JSON object: {exc}") from None

    def save(self, workflow_id: str, document: dict[str, Any]) -> None:
        from airflow.sdk import Variable

        key = self.key(workflow_id)
        text = json.dumps(document, ensure_ascii=False, sort_keys=True)
        try:
            Variable.set(key, text, description=f"Incremental state of Broadbean workflow {workflow_id}")
        except Exception as exc:
            raise StateError(f"cannot write Airflow Variable {key!r}: {exc}") from None

    def delete(self, workflow_id: str) -> None:
        """Remove the Variable; one that is not there is not an error."""
        from airflow.sdk import Variable

        if self.load(workflow_id) is None:
            return
        key = self.key(workflow_id)
        try:
            Variable.delete(key)
        except Exception as exc:
            raise StateError(f"cannot delete Airflow Variable {key!r}: {exc}") from None


def _poll_target(poll: dict[str, Any]) -> tuple[Any, Any]:
    return poll.get("source_key"), poll.get("job_id")


def _ledger_key(profile_key: str, job_id: str) -> str:
    return f"{profile_key}|{job_id}"


class WorkflowState:
    """The state of one workflow, loaded once per run and saved after every batch.

    Document layout (version 1), all times ISO 8601 UTC with offset::

        {"version": 1, "workflow_id": "...", "updated_at": "...",
         "cursor": {"sort_by": "updated_at", "value": "..."} | null,
         "poll": {"source_key": "...", "job_id": "..."} | null,
         "delivered": {"<profile key>|<job id>": {"transaction_id": "...", "at": "...",
                                                  "updated_at": "..."}},
         "pending": {"<profile key>|<job id>": {"since": "...", "run": "..."}},
         "retry": {"<profile key>": {"since": "...", "error": "...", "job": "<job id>"}},
         "shards": {"<shard id>": {"run": "...", "map_index": 0, "since": "...", "state": "planned"}}}

    ``delivered`` keeps the newest ``ledger_size`` entries, and beyond them every entry a poll could
    list again (the profile's ``updated_at`` at or after the cursor minus ``relist_window``): evicting
    one of those would send its profile again. ``poll`` names the source and job the cursor and the retry
    list belong to (see :meth:`bind_poll`). ``pending`` holds sends that were marked
    before going out and have no confirmed outcome: unconfirmed until a person decides. ``shards``
    names the state documents of a fan-out's mapped tasks (see :mod:`airflow_provider_broadbean.fanout`)
    until their entries are merged here (``"merged"``) and the documents deleted. A document written
    before ``shards`` existed reads as one with none: the version stays 1.

    :param store: where the document is kept.
    :param workflow_id: the workflow whose state this is.
    :param ledger_size: deliveries kept in the ledger, newest first.
    :param relist_window: how far below the cursor a poll lists profiles again (its overlap, or
        more); ledger entries whose profile was updated within it are kept past ``ledger_size``.
    :param settle_seconds: with a store that cannot lock (:class:`LockingStateStore`), how long
        :meth:`save` waits before reading a confirmed write back. A concurrent run whose own read,
        merge and write takes longer than this can still overwrite an entry of this run.
    """

    def __init__(
        self,
        store: StateStore,
        workflow_id: str,
        *,
        ledger_size: int = DEFAULT_LEDGER_SIZE,
        relist_window: timedelta = DEFAULT_RELIST_WINDOW,
        settle_seconds: float = DEFAULT_SETTLE_SECONDS,
    ) -> None:
        self.store = store
        self.workflow_id = workflow_id
        self.ledger_size = ledger_size
        self.relist_window = relist_window
        self.settle_seconds = settle_seconds
        self._lock = threading.Lock()
        self.doc = self._empty()
        self._removed_pending: set[str] = set()
        self._removed_retry: set[str] = set()
        self._recorded: set[str] = set()
        self._marked: set[str] = set()
        self._retried: set[str] = set()
        self._removed_shards: set[str] = set()
        self._added_shards: set[str] = set()
        self._cursor_set = False
        self._held: IO[bytes] | None = None  # this run's last write, kept open (JSON file store)

    def _empty(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "workflow_id": self.workflow_id,
            "updated_at": None,
            "cursor": None,
            "poll": None,
            "delivered": {},
            "pending": {},
            "retry": {},
            "shards": {},
        }

    def load(self) -> None:
        document = self.store.load(self.workflow_id)
        self.doc = self._upgrade(document) if document else self._empty()

    def _upgrade(self, document: dict[str, Any]) -> dict[str, Any]:
        version = document.get("version")
        if version != STATE_VERSION:
            raise StateError(
                f"state of workflow {self.workflow_id!r} has version {version!r}; this provider reads "
                f"version {STATE_VERSION}"
            )
        merged = self._empty()
        merged.update(document)
        for section in SECTIONS:
            if not isinstance(merged.get(section), dict):
                merged[section] = {}
        return merged

    # What is recorded -------------------------------------------------------------------------

    def delivered(self, profile_key: str, job_id: str) -> dict[str, Any] | None:
        entry = self.doc["delivered"].get(_ledger_key(profile_key, job_id))
        return dict(entry) if isinstance(entry, dict) else None

    def pending(self, profile_key: str, job_id: str) -> dict[str, Any] | None:
        entry = self.doc["pending"].get(_ledger_key(profile_key, job_id))
        return dict(entry) if isinstance(entry, dict) else None

    def pending_keys(self, job_id: str) -> list[str]:
        suffix = f"|{job_id}"
        return [key[: -len(suffix)] for key in self.doc["pending"] if key.endswith(suffix)]

    def _retry_of(self, profile_key: str, job_id: str) -> bool:
        """Whether the profile's retry entry is for ``job_id`` (an entry without a job is anyone's)."""
        entry = self.doc["retry"].get(profile_key)
        return isinstance(entry, dict) and entry.get("job") in (None, job_id)

    def retry_keys(self, job_id: str) -> list[str]:
        """The profiles on the retry list for ``job_id``."""
        return [key for key in self.doc["retry"] if self._retry_of(key, job_id)]

    def retrying(self, profile_key: str, job_id: str) -> bool:
        return self._retry_of(profile_key, job_id)

    def retry_entry(self, profile_key: str) -> dict[str, Any] | None:
        entry = self.doc["retry"].get(profile_key)
        return dict(entry) if isinstance(entry, dict) else None

    def shards(self) -> dict[str, dict[str, Any]]:
        """The fan-out shards this document knows of, by shard id."""
        return {name: dict(entry) for name, entry in self.doc["shards"].items() if isinstance(entry, dict)}

    @property
    def cursor(self) -> str | None:
        cursor = self.doc.get("cursor")
        return cursor.get("value") if isinstance(cursor, dict) else None

    # What changes ----------------------------------------------------------------------------

    def bind_poll(self, source_key: str, job_id: str, *, lists_all: bool = False) -> None:
        """Tie the cursor and the retry list to ``source_key`` and ``job_id``, or refuse another pair.

        The cursor says how far a poll of one source has read, and the retry list holds what failed
        for one job. A poll of another source would skip that source's profiles older than the
        cursor; a poll for another job would take the retry list and settle it for the wrong job.
        The first poll of a workflow binds it (written by the next save). A poll that is not
        incremental (``lists_all``) lists the whole source every time: from then on the ledger keeps
        every delivery whose profile's update time it knows.

        :raises PollTargetError: the workflow already polls another source or for another job.
        """
        with self._lock:
            bound = self.doc.get("poll")
            if isinstance(bound, dict):
                if bound.get("source_key") != source_key or bound.get("job_id") != job_id:
                    raise PollTargetError(
                        f"workflow {self.workflow_id!r} polls source {bound.get('source_key')!r} for job "
                        f"{bound.get('job_id')!r}; a poll of source {source_key!r} for job {job_id!r} "
                        "needs a workflow_id of its own"
                    )
                if lists_all and not bound.get("lists_all"):
                    self.doc["poll"] = {**bound, "lists_all": True}
                return
            self.doc["poll"] = {"source_key": source_key, "job_id": job_id}
            if lists_all:
                self.doc["poll"]["lists_all"] = True

    def mark_pending(self, profile_keys: Iterable[str], job_id: str, run_id: str) -> None:
        with self._lock:
            for profile_key in profile_keys:
                key = _ledger_key(profile_key, job_id)
                self.doc["pending"][key] = {"since": utc_now(), "run": run_id}
                self._removed_pending.discard(key)
                self._marked.add(key)

    def clear_pending(self, profile_key: str, job_id: str) -> None:
        with self._lock:
            key = _ledger_key(profile_key, job_id)
            self.doc["pending"].pop(key, None)
            self._removed_pending.add(key)
            self._marked.discard(key)

    def record_delivery(
        self, profile_key: str, job_id: str, transaction_id: str, *, updated_at: str | None = None
    ) -> None:
        """Record a confirmed delivery; ``updated_at`` (UTC, ISO 8601) is the profile's as it was sent."""
        with self._lock:
            key = _ledger_key(profile_key, job_id)
            entry = {"transaction_id": transaction_id, "at": utc_now()}
            if updated_at:
                entry["updated_at"] = updated_at
            self.doc["delivered"][key] = entry
            self._recorded.add(key)
            self.doc["pending"].pop(key, None)
            self._removed_pending.add(key)
            self._marked.discard(key)
            self._drop_retry(profile_key, job_id)

    def refresh_delivery(self, profile_key: str, job_id: str, updated_at: str) -> bool:
        """A poll listed a delivered profile again, updated at ``updated_at`` (UTC, ISO 8601): keep
        its entry as long as a poll may list it. Returns whether the entry changed."""
        with self._lock:
            key = _ledger_key(profile_key, job_id)
            entry = self.doc["delivered"].get(key)
            if not isinstance(entry, dict) or str(entry.get("updated_at") or "") >= updated_at:
                return False
            self.doc["delivered"][key] = {**entry, "updated_at": updated_at}
            self._recorded.add(key)
            return True

    def record_retry(self, profile_key: str, error: str, job_id: str) -> None:
        """Put the profile on the retry list for ``job_id`` (a profile has one entry, the latest)."""
        with self._lock:
            self.doc["retry"][profile_key] = {"since": utc_now(), "error": error[:300], "job": job_id}
            self._removed_retry.discard(profile_key)
            self._retried.add(profile_key)

    def clear_retry(self, profile_key: str, job_id: str) -> None:
        """Take the profile off the retry list, unless its entry is another job's."""
        with self._lock:
            self._drop_retry(profile_key, job_id)

    def _drop_retry(self, profile_key: str, job_id: str) -> None:
        if profile_key in self.doc["retry"] and not self._retry_of(profile_key, job_id):
            return  # another job still needs it
        self.doc["retry"].pop(profile_key, None)
        self._removed_retry.add(profile_key)
        self._retried.discard(profile_key)

    def set_cursor(self, sort_by: str, value: str) -> None:
        with self._lock:
            self.doc["cursor"] = {"sort_by": sort_by, "value": value}
            self._cursor_set = True

    def record_shard(self, shard_id: str, *, run_id: str, map_index: int, state: str = "planned") -> None:
        """Name a fan-out shard (``"planned"``: to be merged) or mark it ``"merged"`` into this document."""
        with self._lock:
            self.doc["shards"][shard_id] = {
                "run": run_id,
                "map_index": map_index,
                "since": utc_now(),
                "state": state,
            }
            self._removed_shards.discard(shard_id)
            self._added_shards.add(shard_id)

    def forget_shard(self, shard_id: str) -> None:
        """Drop a shard's name once its document is deleted."""
        with self._lock:
            self.doc["shards"].pop(shard_id, None)
            self._removed_shards.add(shard_id)
            self._added_shards.discard(shard_id)

    def absorb_shard(self, shard: dict[str, Any]) -> int:
        """Take a fan-out shard's word on the profiles of its batch; return the deliveries it adds.

        A shard starts as a copy of this document's entries for the profiles of its batch, and only
        its mapped task changes it afterwards: for those profiles it is the newer truth. Its
        deliveries join the ledger (and end their pending and retry entries); its pending and retry
        entries replace these, and one the shard lacks is removed here, because the batch settled it.

        :raises StateError: the document is not a shard of this provider's version.
        """
        name = shard.get("workflow_id")
        keys, job_id = shard.get("keys"), shard.get("job_id")
        delivered, pending, retry = (shard.get(section) for section in ("delivered", "pending", "retry"))
        if (
            shard.get("version") != STATE_VERSION
            or not isinstance(keys, list)
            or not isinstance(job_id, str)
            or not isinstance(delivered, dict)
            or not isinstance(pending, dict)
            or not isinstance(retry, dict)
        ):
            raise StateError(f"state shard {name!r} of workflow {self.workflow_id!r} is not readable")
        added = 0
        with self._lock:
            for ledger_key, entry in delivered.items():
                if not isinstance(entry, dict):
                    continue
                added += ledger_key not in self.doc["delivered"]
                self.doc["delivered"][ledger_key] = dict(entry)
                self._recorded.add(ledger_key)
            for profile_key in map(str, keys):
                ledger_key = _ledger_key(profile_key, job_id)
                settled = ledger_key in self.doc["delivered"]
                for section, key, entry, removed, mine in (
                    ("pending", ledger_key, pending.get(ledger_key), self._removed_pending, self._marked),
                    ("retry", profile_key, retry.get(profile_key), self._removed_retry, self._retried),
                ):
                    if isinstance(entry, dict) and not settled:
                        self.doc[section][key] = dict(entry)
                        removed.discard(key)
                        mine.add(key)
                    else:
                        self.doc[section].pop(key, None)
                        removed.add(key)
                        mine.discard(key)
        return added

    def save(self, *, confirm: bool = False) -> None:
        """Merge what other runs recorded since :meth:`load`, bound the ledger, and write.

        With a :class:`LockingStateStore` the read, merge and write happen under its lock, so no
        concurrent run can slip a write in between. Other stores (Airflow Variables) are blind
        upserts: the write is read back at once, and written again (merged anew) while this run's
        deliveries or pending marks are missing from it, because a concurrent run that read just
        before overwrote them. Every later save of a run repairs the same way, so only the last one
        is exposed to a writer still to come: with ``confirm`` the read-back waits
        ``settle_seconds`` first.

        :raises StateError: the store failed, or did not keep this run's entries after
            :data:`CONFIRM_ATTEMPTS` writes (another value shadows it, or runs keep racing).
        """
        with self._lock:
            if isinstance(self.store, LockingStateStore):
                with self.store.locked(self.workflow_id):
                    self._merge_and_write()
                return
            for attempt in range(CONFIRM_ATTEMPTS):
                if attempt:  # runs that keep colliding drift apart
                    time.sleep(random.uniform(0.0, min(1.0, 0.02 * 2**attempt)))
                self._merge_and_write()
                if confirm:
                    time.sleep(self.settle_seconds)
                lost = self._lost_from(self.store.load(self.workflow_id))
                if not lost:
                    return
                log.warning(
                    "State of workflow %s: %s entries of this run are missing after a write (a concurrent "
                    "run overwrote them); writing again",
                    self.workflow_id,
                    len(lost),
                )
            raise StateError(
                f"state of workflow {self.workflow_id!r} did not keep this run's entries after "
                f"{CONFIRM_ATTEMPTS} writes: an environment variable or secrets backend may define the "
                "same key, or concurrent runs keep overwriting it"
            )

    def _merge_and_write(self) -> None:
        """Apply this run's changes to the latest document; what it only read comes from there."""
        # Only a locking store is asked: nobody can write between its answer and this write.
        holds_current = getattr(self.store, "holds_current", None)
        if (
            isinstance(self.store, LockingStateStore)
            and holds_current is not None
            and self._held is not None
            and holds_current(self.workflow_id, self._held)
        ):
            latest = None  # still this run's last write: nothing to merge
        else:
            latest = self.store.load(self.workflow_id)
        if latest:
            latest = self._upgrade(latest)
            delivered = dict(latest["delivered"])
            delivered.update(self.doc["delivered"])
            self.doc["delivered"] = delivered
            for section, removed, mine in (
                ("pending", self._removed_pending, self._marked),
                ("retry", self._removed_retry, self._retried),
                ("shards", self._removed_shards, self._added_shards),
            ):
                merged = {k: v for k, v in latest[section].items() if k not in removed}
                merged.update({k: self.doc[section][k] for k in mine if k in self.doc[section]})
                self.doc[section] = merged
            for key in list(self.doc["pending"]):
                if key in self.doc["delivered"]:
                    del self.doc["pending"][key]
            my_poll, their_poll = self.doc.get("poll"), latest.get("poll")
            if isinstance(their_poll, dict) and isinstance(my_poll, dict):  # the first binding stays
                if _poll_target(my_poll) != _poll_target(their_poll):
                    # Two first polls for different targets raced: the cursor is the other one's.
                    log.error(
                        "State of workflow %s: bound meanwhile to source %s and job %s by another run; "
                        "this run's cursor is not written (its deliveries are)",
                        self.workflow_id,
                        their_poll.get("source_key"),
                        their_poll.get("job_id"),
                    )
                    self._cursor_set = False
                self.doc["poll"] = (
                    {**their_poll, "lists_all": True} if my_poll.get("lists_all") else their_poll
                )
            elif isinstance(their_poll, dict):
                self.doc["poll"] = their_poll
            if not self._cursor_set:
                self.doc["cursor"] = latest.get("cursor")
        self._bound_ledger()
        self.doc["updated_at"] = utc_now()
        self.store.save(self.workflow_id, self.doc)
        if self._held is not None:
            self._held.close()
        hold = getattr(self.store, "hold", None)
        self._held = hold(self.workflow_id) if hold is not None else None

    def _lost_from(self, latest: dict[str, Any] | None) -> list[str]:
        """Entries of this run that are in the document written last but not in ``latest``."""
        theirs = self._upgrade(latest) if latest else self._empty()
        lost = [
            key for key in self._recorded if key in self.doc["delivered"] and key not in theirs["delivered"]
        ]
        lost += [
            key
            for key in self._marked
            if key in self.doc["pending"] and key not in theirs["pending"] and key not in theirs["delivered"]
        ]
        return lost

    def _bound_ledger(self) -> None:
        """Evict the oldest deliveries beyond ``ledger_size``, but none a poll could list again.

        Only a polled workflow (:meth:`bind_poll`) protects entries; one that only handles events keeps
        the newest. An entry without ``updated_at`` (written by an earlier version) may go. Past
        ``MAX_LEDGER_FACTOR`` times ``ledger_size`` (a cursor that stopped moving while events keep
        delivering), the oldest go whatever they are, with a warning.
        """
        delivered = self.doc["delivered"]
        if len(delivered) <= self.ledger_size:
            return
        keep_from: str | None = None  # a workflow that is not polled (events only) keeps the newest
        poll = self.doc.get("poll")
        if isinstance(poll, dict):
            keep_from = ""  # before its first cursor, or polled in full, a poll may list anything again
            try:
                start = datetime.fromisoformat(self.cursor or "") - self.relist_window
            except ValueError:
                start = None
            if start is not None and start.tzinfo is not None and not poll.get("lists_all"):
                keep_from = utc_text(start)
        cap = self.ledger_size * MAX_LEDGER_FACTOR
        forced = 0
        for key in sorted(delivered, key=lambda key: str(delivered[key].get("at", ""))):
            if len(delivered) <= self.ledger_size:
                break
            updated_at = delivered[key].get("updated_at")
            protected = keep_from is not None and isinstance(updated_at, str) and updated_at >= keep_from
            if protected and len(delivered) <= cap:
                continue  # a poll may list it again
            forced += protected
            del delivered[key]
        if forced:
            log.warning(
                "State of workflow %s: the ledger reached %s entries; %s deliveries a poll may list again "
                "were forgotten (an edit of those profiles sends them again)",
                self.workflow_id,
                cap,
                forced,
            )

"""Incremental state per workflow id: the poll cursor, the delivery ledger and pending sends.

The state is one versioned JSON document a person can read. Inside Airflow it lives in an Airflow
Variable (``broadbean_state__<workflow_id>``); outside Airflow in a JSON file. Both stores are
plain read/write of the whole document; :class:`WorkflowState` merges what other runs wrote in the
meantime before every write, so concurrent runs lose no delivery that each of them recorded
(see the README's delivery guarantees for what remains).
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import threading
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from airflow_provider_broadbean.exceptions import BroadbeanProviderError

log = logging.getLogger(__name__)

STATE_VERSION = 1
DEFAULT_LEDGER_SIZE = 20_000
DEFAULT_STATE_DIR_ENV = "BROADBEAN_STATE_DIR"
VARIABLE_PREFIX = "broadbean_state__"


class StateError(BroadbeanProviderError):
    """The state could not be read or written; a run must not go on without it."""


class StateStore(Protocol):
    """Where the state document of one workflow is kept."""

    def load(self, workflow_id: str) -> dict[str, Any] | None: ...

    def save(self, workflow_id: str, document: dict[str, Any]) -> None: ...


def utc_now() -> str:
    """The current time as ISO 8601 in UTC with an explicit offset."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


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

    def load(self, workflow_id: str) -> dict[str, Any] | None:
        path = self._path(workflow_id)
        try:
            return dict(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise StateError(
                f"cannot read the state of workflow {workflow_id!r} from {path}: {exc}"
            ) from None

    def save(self, workflow_id: str, document: dict[str, Any]) -> None:
        path = self._path(workflow_id)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(
                "w", encoding="utf-8", dir=path.parent, delete=False, suffix=".tmp"
            ) as handle:
                json.dump(document, handle, ensure_ascii=False, indent=1, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(handle.name, path)
        except OSError as exc:
            raise StateError(f"cannot write the state of workflow {workflow_id!r} to {path}: {exc}") from None


class VariableStateStore:
    """The state in an Airflow Variable named ``broadbean_state__<workflow_id>``.

    Every write is read back and compared, because some Airflow 3 releases swallowed Variable write
    errors: a write that did not land fails the task instead of silently losing deliveries.
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
        except ValueError as exc:
            raise StateError(f"Airflow Variable {key!r} does not hold JSON: {exc}") from None

    def save(self, workflow_id: str, document: dict[str, Any]) -> None:
        from airflow.sdk import Variable

        key = self.key(workflow_id)
        text = json.dumps(document, ensure_ascii=False, sort_keys=True)
        try:
            Variable.set(key, text, description=f"Incremental state of Broadbean workflow {workflow_id}")
            stored = Variable.get(key, default=None)
        except Exception as exc:
            raise StateError(f"cannot write Airflow Variable {key!r}: {exc}") from None
        if stored != text:
            raise StateError(
                f"Airflow Variable {key!r} did not keep the written state (an environment variable or "
                "secrets backend may define the same key)"
            )


def _ledger_key(profile_key: str, job_id: str) -> str:
    return f"{profile_key}|{job_id}"


class WorkflowState:
    """The state of one workflow, loaded once per run and saved after every batch.

    Document layout (version 1), all times ISO 8601 UTC with offset::

        {"version": 1, "workflow_id": "...", "updated_at": "...",
         "cursor": {"sort_by": "updated_at", "value": "..."} | null,
         "delivered": {"<profile key>|<job id>": {"transaction_id": "...", "at": "..."}},
         "pending": {"<profile key>|<job id>": {"since": "...", "run": "..."}},
         "retry": {"<profile key>": {"since": "...", "error": "..."}}}

    ``delivered`` keeps the newest ``ledger_size`` entries. ``pending`` holds sends that were marked
    before going out and have no confirmed outcome: unconfirmed until a person decides.
    """

    def __init__(
        self, store: StateStore, workflow_id: str, *, ledger_size: int = DEFAULT_LEDGER_SIZE
    ) -> None:
        self.store = store
        self.workflow_id = workflow_id
        self.ledger_size = ledger_size
        self._lock = threading.Lock()
        self.doc = self._empty()
        self._removed_pending: set[str] = set()
        self._removed_retry: set[str] = set()

    def _empty(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "workflow_id": self.workflow_id,
            "updated_at": None,
            "cursor": None,
            "delivered": {},
            "pending": {},
            "retry": {},
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
        for section in ("delivered", "pending", "retry"):
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

    def retry_keys(self) -> list[str]:
        return list(self.doc["retry"])

    @property
    def cursor(self) -> str | None:
        cursor = self.doc.get("cursor")
        return cursor.get("value") if isinstance(cursor, dict) else None

    # What changes ----------------------------------------------------------------------------

    def mark_pending(self, profile_keys: Iterable[str], job_id: str, run_id: str) -> None:
        with self._lock:
            for key in profile_keys:
                self.doc["pending"][_ledger_key(key, job_id)] = {"since": utc_now(), "run": run_id}
                self._removed_pending.discard(_ledger_key(key, job_id))

    def clear_pending(self, profile_key: str, job_id: str) -> None:
        with self._lock:
            self.doc["pending"].pop(_ledger_key(profile_key, job_id), None)
            self._removed_pending.add(_ledger_key(profile_key, job_id))

    def record_delivery(self, profile_key: str, job_id: str, transaction_id: str) -> None:
        with self._lock:
            key = _ledger_key(profile_key, job_id)
            self.doc["delivered"][key] = {"transaction_id": transaction_id, "at": utc_now()}
            self.doc["pending"].pop(key, None)
            self._removed_pending.add(key)
            self.doc["retry"].pop(profile_key, None)
            self._removed_retry.add(profile_key)

    def record_retry(self, profile_key: str, error: str) -> None:
        with self._lock:
            self.doc["retry"][profile_key] = {"since": utc_now(), "error": error[:300]}
            self._removed_retry.discard(profile_key)

    def clear_retry(self, profile_key: str) -> None:
        with self._lock:
            self.doc["retry"].pop(profile_key, None)
            self._removed_retry.add(profile_key)

    def set_cursor(self, sort_by: str, value: str) -> None:
        with self._lock:
            self.doc["cursor"] = {"sort_by": sort_by, "value": value}

    def save(self) -> None:
        """Merge what other runs recorded since :meth:`load`, bound the ledger, and write."""
        with self._lock:
            latest = self.store.load(self.workflow_id)
            if latest:
                latest = self._upgrade(latest)
                delivered = dict(latest["delivered"])
                delivered.update(self.doc["delivered"])
                self.doc["delivered"] = delivered
                for section, removed in (("pending", self._removed_pending), ("retry", self._removed_retry)):
                    theirs = {k: v for k, v in latest[section].items() if k not in removed}
                    theirs.update(self.doc[section])
                    self.doc[section] = theirs
                for key in list(self.doc["pending"]):
                    if key in self.doc["delivered"]:
                        del self.doc["pending"][key]
            self._bound_ledger()
            self.doc["updated_at"] = utc_now()
            self.store.save(self.workflow_id, self.doc)

    def _bound_ledger(self) -> None:
        delivered = self.doc["delivered"]
        excess = len(delivered) - self.ledger_size
        if excess > 0:
            oldest = sorted(delivered, key=lambda key: str(delivered[key].get("at", "")))[:excess]
            for key in oldest:
                del delivered[key]

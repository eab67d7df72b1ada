"""A poll spread over mapped tasks: plan the batches, give each task its own state, merge it back.

When a source has many new profiles, a DAG can send them with Airflow's dynamic task mapping, one
mapped task per batch, in three steps whose state is all in Airflow (Variables and XCom), so they run
unchanged on any executor:

1. :func:`plan_batches` first merges every shard its workflow's document still names (a run whose
   commit did not happen, or an earlier try of this very DAG run, cleared and run again), writes the
   merge, and deletes those shards. It then lists the source as a poll does (``updated_at`` newest
   first, down to the cursor minus the overlap), adds the retry list, drops what the ledger holds as
   delivered or pending for the job, and splits the rest into batches. In one more write it names
   the shards its own mapped tasks will write and puts every planned profile on the retry list.
2. Each mapped task sends its batch with a state document of its own, a *shard*
   (:func:`open_shard`), so that no two tasks write one Variable. A shard starts as a copy of the
   workflow's entries for the profiles of its batch, retry entries included; an Airflow retry of the
   task reads what its earlier try recorded there. Sending a batch (``profile_keys``) keeps the retry
   list as a poll does: a profile leaves it once delivered, pending, or failed for good, and stays
   on it after a transient failure.
3. :func:`commit_batches` merges the shards into the workflow's document, moves the cursor, and
   deletes the shards. It runs whatever happened to the mapped tasks: a profile planned is then
   delivered, pending, failed for good, or on the retry list (failed transiently, or not attempted
   because its task failed or never ran), so the cursor can move past all of them.

Only the planning and the commit write the workflow's document, and never while the mapped tasks of
their DAG run are running; runs of one workflow must not overlap (``max_active_runs=1``).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from airflow_provider_broadbean.dates import parse_hrflow_datetime
from airflow_provider_broadbean.pipeline import EPOCH, PollWalk
from airflow_provider_broadbean.state import (
    STATE_VERSION,
    DeletableStateStore,
    StateError,
    WorkflowState,
    utc_now,
    utc_text,
)

log = logging.getLogger(__name__)

SORT_BY = "updated_at"
DEFAULT_BATCH_SIZE = 100
MAX_SHOWN_KEYS = 50
"""Unconfirmed keys listed in a plan's summary; the count is always complete."""
PLANNED = "planned for a fan-out batch, not sent yet"
"""The retry entry of a planned profile until its mapped task delivers it or settles it otherwise."""


class ShardError(StateError):
    """A mapped task's shard is not one its planning step announced: it must not be written."""


def shard_id(workflow_id: str, run_id: str, map_index: int) -> str:
    """The id of the state shard of one mapped task (its Variable is ``broadbean_state__<id>``).

    The DAG run id is hashed: run ids carry time stamps and may be long, and a Variable key is
    limited to 250 characters. The shard's document keeps the run id in full.
    """
    digest = hashlib.sha256(run_id.encode("utf-8")).hexdigest()[:10]
    return f"{workflow_id}__shard__{digest}_{map_index}"


@dataclass
class BatchPlan:
    """What a planning step decided: the batches, and where the cursor goes once they are sent.

    :param batches: profile keys per mapped task, retried profiles first, then the listed ones from
        the least recently updated.
    :param cursor: the value the commit sets, or None to leave the cursor where it is.
    :param deferred: profiles left for a later run because ``max_batches`` was reached.
    """

    batches: list[list[str]]
    cursor: str | None
    previous_cursor: str | None
    listed: int = 0
    retried: int = 0
    skipped_already_delivered: int = 0
    unconfirmed: list[str] = field(default_factory=list)
    deferred: int = 0
    merged_shards: list[str] = field(default_factory=list)
    shards: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary for XCom and logs (the keys themselves travel separately)."""
        return {
            "complete": True,
            "batches": len(self.batches),
            "planned": sum(len(batch) for batch in self.batches),
            "listed": self.listed,
            "retried": self.retried,
            "skipped_already_delivered": self.skipped_already_delivered,
            "skipped_unconfirmed": len(self.unconfirmed),
            "unconfirmed": self.unconfirmed[:MAX_SHOWN_KEYS],
            "deferred": self.deferred,
            "cursor": self.cursor,
            "previous_cursor": self.previous_cursor,
            "merged_shards": list(self.merged_shards),
            "shards": list(self.shards),
        }


@dataclass
class CommitOutcome:
    """What a commit merged and deleted, and the cursor it set (None: the cursor did not move)."""

    merged_shards: list[str]
    deliveries_merged: int
    deleted_shards: list[str]
    cursor: str | None


def plan_batches(
    state: WorkflowState,
    store: DeletableStateStore,
    listing: Iterable[list[dict[str, Any]]],
    *,
    source_key: str,
    job_id: str,
    run_id: str,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_batches: int | None = None,
    overlap: timedelta = timedelta(minutes=10),
    persist: bool = True,
    started: datetime | None = None,
) -> BatchPlan:
    """Plan one fan-out run of the workflow whose document ``state`` is.

    The shards the document names are merged first, this run's own included: a DAG run cleared and
    run again plans with the same run id, and what its earlier try delivered must be in the ledger
    the new batches are planned from. With ``persist`` the document is then written up to twice:

    1. the merge, the merged shards marked ``"merged"`` (only when there was something to merge);
       their documents are then deleted, before any is announced again: a new mapped task of the
       same run and map index must find no shard and start a fresh one from the complete ledger;
    2. this run's shards announced, and every planned profile not on the retry list put on it
       (:data:`PLANNED`), so that a profile whose mapped task fails or never runs is retried by a
       later run although the commit moves the cursor past it.

    :param state: the workflow's state (loaded here).
    :param store: the store of the workflow's document and of its shards.
    :param listing: the source's pages of ``{key, created_at, updated_at}``, ``updated_at`` newest
        first (``HrFlowApi.iter_profile_keys``); read only down to the cursor minus ``overlap``.
    :param source_key: the source listed; with ``job_id`` it must be the pair the workflow polls
        (:meth:`WorkflowState.bind_poll`).
    :param job_id: the job the profiles are sent for; the ledger is kept per job.
    :param run_id: the DAG run; it names the shards.
    :param batch_size: profiles per mapped task.
    :param max_batches: at most this many mapped tasks; the rest waits for the next run, and the
        cursor then moves only as far as the newest profile planned.
    :param persist: False for a dry run: nothing is written or deleted.
    :param started: when the listing started (now by default): the cursor never passes it.
    :raises PollTargetError: the workflow polls another source or for another job.
    :raises StateError: the state cannot be read or written, or a merged shard this run would
        announce again cannot be deleted.
    """
    if batch_size < 1 or (max_batches is not None and max_batches < 1):
        raise ValueError("batch_size and max_batches must be at least 1")
    state.load()
    state.bind_poll(source_key, job_id)
    state.relist_window = max(state.relist_window, overlap)
    previous = state.cursor
    merged, gone = _merge_shards(state, store)

    cursor = parse_hrflow_datetime(previous)
    walk = PollWalk(
        since=cursor - overlap if cursor is not None else None,
        started=started or datetime.now(timezone.utc),
    )
    retry = state.retry_keys(job_id)
    unconfirmed = state.pending_keys(job_id)
    handled = set(retry) | set(unconfirmed)
    listed = sorted((walk.seen(item.profile or {}), item.key) for item in walk.items(listing, handled))

    todo: list[str] = []
    skipped = 0
    for key in retry:
        delivered = state.delivered(key, job_id) is not None
        if delivered or state.pending(key, job_id):
            skipped += delivered  # a pending one is reported with the unconfirmed
            state.clear_retry(key, job_id)  # settled since it failed: nothing to retry
        else:
            todo.append(key)
    retried = len(todo)
    fresh: list[tuple[datetime, str]] = []
    for seen, key in listed:
        if not state.delivered(key, job_id):
            fresh.append((seen, key))
        elif persist and seen != EPOCH:  # listed again: its entry stays as long as a poll may list it
            state.refresh_delivery(key, job_id, utc_text(seen))
    skipped += len(listed) - len(fresh)
    todo += [key for _, key in fresh]

    limit = batch_size * max_batches if max_batches is not None else len(todo)
    planned, deferred = todo[:limit], max(0, len(todo) - limit)
    newest: datetime | None = walk.newest
    if deferred:
        # Profiles listed but not planned are at least as recent as the last one planned: a cursor
        # there lists them again next time, while the ones sent here fall behind it.
        listed_planned = len(planned) - retried
        newest = fresh[listed_planned - 1][0] if listed_planned > 0 else None
    if newest is not None and cursor is not None and newest <= cursor:
        newest = None  # a cursor never moves back
    batches = [planned[start : start + batch_size] for start in range(0, len(planned), batch_size)]
    plan = BatchPlan(
        batches=batches,
        cursor=utc_text(newest) if newest else None,
        previous_cursor=previous,
        listed=walk.listed,
        retried=retried,
        skipped_already_delivered=skipped,
        unconfirmed=unconfirmed,
        deferred=deferred,
        merged_shards=merged,
        shards=[shard_id(state.workflow_id, run_id, index) for index in range(len(batches))],
    )

    if persist:
        if merged:
            state.save(confirm=True)  # the merge is safe in the workflow's document before any delete
        kept = set(gone + merged) - set(_delete_shards(state, store, gone + merged))
        reused = sorted(kept & set(plan.shards))
        if reused:
            raise StateError(
                f"merged state shards {', '.join(reused)} of workflow {state.workflow_id!r} could not be "
                "deleted, and this run would announce them again: nothing is planned"
            )
        for key in planned:
            if not state.retrying(key, job_id):
                state.record_retry(key, PLANNED, job_id)
        for index, name in enumerate(plan.shards):
            state.record_shard(name, run_id=run_id, map_index=index)
        state.save(confirm=True)
    log.info(
        "[workflow_id=%s] Planned %s profiles in %s batches of up to %s (%s listed, %s retried, %s already "
        "delivered, %s unconfirmed, %s deferred to the next run); merged %s earlier shards; cursor %s -> %s",
        state.workflow_id,
        len(planned),
        len(plan.batches),
        batch_size,
        plan.listed,
        retried,
        plan.skipped_already_delivered,
        len(unconfirmed),
        deferred,
        len(merged),
        previous,
        plan.cursor or "unchanged",
    )
    return plan


def open_shard(
    store: DeletableStateStore,
    workflow_id: str,
    *,
    run_id: str,
    map_index: int,
    profile_keys: Sequence[str],
    job_id: str,
) -> WorkflowState:
    """The state a mapped task sends its batch with: its own shard, created on its first try.

    A new shard is a copy of the workflow's ledger, pending and retry entries for the batch's
    profiles (and names the batch and the job, for the merge). A later try of the same task finds
    the shard its earlier try wrote, with what that try delivered or marked pending.

    :raises ShardError: the planning step did not announce this shard, or it was merged already (a
        task cleared after a later run took over its batch), or it holds another batch.
    :raises StateError: the store failed.
    """
    main = WorkflowState(store, workflow_id)
    main.load()
    name = shard_id(workflow_id, run_id, map_index)
    announced = main.shards().get(name)
    if announced is None or announced.get("state") != "planned":
        raise ShardError(
            f"state shard {name!r} of workflow {workflow_id!r} is "
            + ("not one a planning step announced" if announced is None else "already merged")
            + ": a mapped task of a fan-out runs after PlanProfileBatchesOperator of its DAG run and "
            "before the commit"
        )
    keys = list(dict.fromkeys(profile_keys))
    existing = store.load(name)
    if existing is None:
        document: dict[str, Any] = {
            "version": STATE_VERSION,
            "workflow_id": name,
            "updated_at": utc_now(),
            "cursor": None,
            "delivered": {},
            "pending": {},
            "retry": {},
            "shards": {},
            "parent": workflow_id,
            "run": run_id,
            "map_index": map_index,
            "job_id": job_id,
            "keys": keys,
        }
        for key in keys:
            ledger_key = f"{key}|{job_id}"
            for section, entry_key, entry in (
                ("delivered", ledger_key, main.delivered(key, job_id)),
                ("pending", ledger_key, main.pending(key, job_id)),
                ("retry", key, main.retry_entry(key)),
            ):
                if entry is not None:
                    document[section][entry_key] = entry
        store.save(name, document)
        existing = store.load(name)
        log.info("[workflow_id=%s] Created state shard %s for %s profiles", workflow_id, name, len(keys))
    if not existing or existing.get("keys") != keys or existing.get("job_id") != job_id:
        raise ShardError(f"state shard {name!r} of workflow {workflow_id!r} does not hold this batch")
    # One task writes a shard, one try at a time: no concurrent write to wait for before reading back.
    return WorkflowState(store, name, settle_seconds=0)


def commit_batches(
    state: WorkflowState,
    store: DeletableStateStore,
    *,
    cursor: str | None,
    persist: bool = True,
) -> CommitOutcome:
    """Merge every announced shard into the workflow's document, set the cursor, delete the shards.

    Safe whatever happened to the mapped tasks: a shard holds what its task delivered, marked pending
    and left on the retry list (its planned profiles start there); a shard whose task never ran
    does not exist, and its profiles keep the retry entries the planning step wrote. Every planned
    profile is therefore delivered, pending, failed for good, or retried by a later run, and the
    cursor may move past them all. It never moves back (a commit of an older run, cleared and run
    again after a newer one committed, leaves it alone).

    Written twice: the merge and the cursor first (the shards then show as ``"merged"``), and once
    their documents are deleted, without their names. A commit stopped in between loses nothing:
    the next planning step deletes what is left.

    :param cursor: the cursor the planning step chose (None: leave it).
    :param persist: False for a dry run: nothing is written or deleted.
    """
    state.load()
    deliveries_before = len(state.doc["delivered"])
    merged, gone = _merge_shards(state, store)
    current = parse_hrflow_datetime(state.cursor)
    target = parse_hrflow_datetime(cursor) if cursor else None
    moves = target is not None and (current is None or target > current)
    outcome = CommitOutcome(
        merged_shards=merged,
        deliveries_merged=len(state.doc["delivered"]) - deliveries_before,
        deleted_shards=[],
        cursor=cursor if moves else None,
    )
    if not persist:
        return outcome
    if cursor and moves:
        state.set_cursor(SORT_BY, cursor)
    state.save(confirm=True)
    outcome.deleted_shards = _delete_shards(state, store, gone + merged)
    if outcome.deleted_shards:
        state.save(confirm=True)
    log.info(
        "[workflow_id=%s] Committed %s shards (%s new deliveries); cursor %s",
        state.workflow_id,
        len(merged),
        outcome.deliveries_merged,
        outcome.cursor or f"unchanged ({state.cursor})",
    )
    return outcome


def _merge_shards(state: WorkflowState, store: DeletableStateStore) -> tuple[list[str], list[str]]:
    """Absorb every shard still announced; return them, and those merged by an earlier write.

    A shard a mapped task never wrote has nothing to give: its batch's profiles keep the entries the
    workflow's document has for them, the planning step's retry entries among them.
    """
    merged: list[str] = []
    gone: list[str] = []
    for name, entry in sorted(state.shards().items()):
        if entry.get("state") == "merged":
            gone.append(name)
            continue
        document = store.load(name)
        if document:
            added = state.absorb_shard(document)
            log.info("[workflow_id=%s] Merged state shard %s: %s deliveries", state.workflow_id, name, added)
        state.record_shard(
            name,
            run_id=str(entry.get("run")),
            map_index=int(entry.get("map_index") or 0),
            state="merged",
        )
        merged.append(name)
    return merged, gone


def _delete_shards(state: WorkflowState, store: DeletableStateStore, names: list[str]) -> list[str]:
    """Delete merged shards' documents and forget their names; one that fails stays for the next run."""
    deleted = []
    for name in names:
        try:
            store.delete(name)
        except StateError as exc:
            log.warning(
                "[workflow_id=%s] Cannot delete merged state shard %s: %s", state.workflow_id, name, exc
            )
            continue
        state.forget_shard(name)
        deleted.append(name)
    return deleted

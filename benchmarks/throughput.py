"""Throughput: 300 profiles polled from HrFlow and sent to a Candidate Hub that answers in 25 ms.

The provider is run through its real entry point, ``Broadbean.create_profiles_in_broadbean``, in
poll mode, with a fresh workflow id and a temporary JSON state directory for every run, so the
ledger skips nothing. The baseline (:mod:`benchmarks.baseline`) sends the same 300 profiles the
way hrflow-connectors does. Both talk to the sandbox running in its own process, with the hub's
latency fault set to 25 ms (HrFlow answers without added latency).

Two goals: at least 10 times the baseline's speed, and within 1.5 times the ideal time
``profiles x latency / concurrency`` (what the hub's latency alone costs with ``concurrency``
requests in flight). A concurrency of c cannot beat its ideal, so the 10x goal needs
``ideal(c) <= baseline / 10``: the default concurrency may be too low for it. The benchmark
therefore measures a small sweep of concurrencies, reports the default, and uses the smallest
concurrency that meets both goals (or, when none does, the one that comes closest, saying so).

One more run, for information: the default concurrency on a workflow whose ledger is already full
(``DEFAULT_LEDGER_SIZE`` earlier deliveries, what a long-lived workflow carries). The state is
written as a whole during the run (on a writer thread, ahead of the sends), so its size costs CPU
that the sends share.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from dataclasses import dataclass

from benchmarks.support import (
    PUSH_PARAMETERS,
    Figure,
    SandboxInfo,
    counting_pool_discards,
    median,
    running_sandbox,
    say,
)

PROFILES = 300
HUB_LATENCY_MS = 25
CV_BYTES = 1024
"""About the size of the sandbox's seed PDFs: each profile's CV is downloaded, but cheaply."""

SWEEP = (4, 8, 10, 12, 16)
"""Around 10 to 12, where 1.5 x the ideal meets a tenth of a baseline of about 9 to 11 s: below 8 the
10x goal is out of reach even at the ideal, above 12 the ideal one gets harder (the hub's own
handling and the client's CPU add a few milliseconds to each 25 ms send). 16 shows where the curve
flattens."""
REPEATS = 3
SPEEDUP_GOAL = 10.0
IDEAL_GOAL = 1.5


@dataclass(frozen=True)
class Selection:
    """The concurrencies the figures use: the package default, and the one chosen from the sweep.

    :param chosen_meets: whether the chosen concurrency meets both throughput goals; when it does
        not, it is only the closest, and the memory benchmark reports it for information.
    """

    default: int
    chosen: int
    chosen_meets: bool


@dataclass
class Point:
    """The median of ``REPEATS`` runs at one concurrency, against the baseline's time.

    :param discards: keep-alive connections urllib3 closed because a session's pool was full.
    """

    concurrency: int
    seconds: float
    baseline_seconds: float
    discards: int = 0

    @property
    def ideal(self) -> float:
        """Seconds the hub's latency alone costs with ``concurrency`` sends always in flight."""
        return PROFILES * HUB_LATENCY_MS / 1000 / self.concurrency

    @property
    def speedup(self) -> float:
        return self.baseline_seconds / self.seconds

    @property
    def over_ideal(self) -> float:
        return self.seconds / self.ideal

    @property
    def meets(self) -> bool:
        return self.speedup >= SPEEDUP_GOAL and self.over_ideal <= IDEAL_GOAL

    @property
    def closeness(self) -> float:
        """How near both goals are; 1 or more means both are met."""
        return min(self.speedup / SPEEDUP_GOAL, IDEAL_GOAL / self.over_ideal)


def _fill_ledger(state_dir: str, workflow_id: str, size: int) -> None:
    """Give the workflow a ledger of ``size`` earlier deliveries, for another job (nothing is skipped)."""
    from airflow_provider_broadbean.state import JsonFileStateStore, WorkflowState

    state = WorkflowState(JsonFileStateStore(state_dir), workflow_id)
    state.load()
    for index in range(size):
        state.record_delivery(f"{index:040x}", "R-EARLIER", f"TX-EARLIER-{index}")
    state.save()


def _run_ours(sandbox: SandboxInfo, concurrency: int, ledger: int = 0) -> float:
    """One run of the real entry point; raises unless every profile was delivered.

    :param ledger: deliveries already in the workflow's ledger; 0 is a fresh workflow.
    """
    from airflow_provider_broadbean import Broadbean, RunOptions
    from airflow_provider_broadbean.state import JsonFileStateStore

    workflow_id = f"bench-throughput-{uuid.uuid4().hex}"
    with tempfile.TemporaryDirectory(prefix="broadbean-bench-state-") as state_dir:
        if ledger:
            _fill_ledger(state_dir, workflow_id, ledger)
        started = time.perf_counter()
        result = Broadbean.create_profiles_in_broadbean(
            workflow_id=workflow_id,
            logics=[],
            connector_auth=sandbox.connector_auth(),
            hrflow_auth=sandbox.hrflow_auth(),
            pull_parameters={"source_key": sandbox.with_cv_source},
            push_parameters=PUSH_PARAMETERS,
            state_store=JsonFileStateStore(state_dir),
            options=RunOptions(concurrency=concurrency),
        )
        seconds = time.perf_counter() - started
    delivered = len(result.delivered)
    if delivered != PROFILES:
        raise RuntimeError(
            f"the provider delivered {delivered} of {PROFILES} profiles "
            f"(status {result.status.value}, {result.detail})"
        )
    return seconds


def _run_baseline(sandbox: SandboxInfo) -> float:
    """One baseline run; raises unless every profile was delivered."""
    from benchmarks.baseline import run_baseline

    started = time.perf_counter()
    result = run_baseline(
        hrflow_url=sandbox.hrflow_url,
        api_secret=sandbox.api_secret,
        api_user=sandbox.api_user,
        source_key=sandbox.with_cv_source,
        hub_url=sandbox.hub_url,
        hub_secret=sandbox.hub_secret,
        push_parameters=PUSH_PARAMETERS,
    )
    seconds = time.perf_counter() - started
    if result.sent != PROFILES:
        raise RuntimeError(f"the baseline delivered {result.sent} of {PROFILES}: {result.errors[:3]}")
    say(
        f"  baseline: {seconds:.2f} s ({result.build_seconds:.2f} s reading and formatting all, "
        f"then {result.push_seconds:.2f} s pushing one by one)"
    )
    return seconds


def _faster(baseline_seconds: float, seconds: float) -> str:
    """``4.3x faster`` or, when the provider is the slower one, ``2.0x slower``."""
    if seconds <= baseline_seconds:
        return f"{baseline_seconds / seconds:.1f}x faster"
    return f"{seconds / baseline_seconds:.1f}x slower"


def select(points: list[Point]) -> Point:
    """The smallest concurrency that meets both goals, else the one closest to meeting them."""
    meeting = [point for point in points if point.meets]
    if meeting:
        return min(meeting, key=lambda point: point.concurrency)
    return max(points, key=lambda point: point.closeness)


def measure() -> tuple[list[Figure], Selection]:
    """Run the benchmark; returns the table rows and the concurrencies the memory benchmark uses."""
    from airflow_provider_broadbean import RunOptions
    from airflow_provider_broadbean.state import DEFAULT_LEDGER_SIZE

    default = RunOptions().concurrency
    concurrencies = sorted({default, *SWEEP})
    say(
        f"Throughput: {PROFILES} profiles, {CV_BYTES} B CV each, hub latency {HUB_LATENCY_MS} ms; "
        f"concurrency {concurrencies}, median of {REPEATS} runs each"
    )
    with running_sandbox(profiles=PROFILES, cv_bytes=CV_BYTES, hub_latency_ms=HUB_LATENCY_MS) as sandbox:
        baselines = [_run_baseline(sandbox)]
        _run_ours(sandbox, default)  # warm-up: first imports and pydantic schema builds
        timings: dict[int, list[float]] = {}
        discards: dict[int, int] = {}
        for concurrency in concurrencies:
            with counting_pool_discards() as counter:
                timings[concurrency] = [_run_ours(sandbox, concurrency) for _ in range(REPEATS)]
            discards[concurrency] = counter.count
            sandbox.clear_hub()
        with counting_pool_discards():  # counted in the sweep already; here only kept off the screen
            with_ledger = _run_ours(sandbox, default, ledger=DEFAULT_LEDGER_SIZE)
        baselines.append(_run_baseline(sandbox))
    baseline_seconds = median(baselines)

    points = [Point(c, median(timings[c]), baseline_seconds, discards[c]) for c in concurrencies]
    say(
        f"  {'concurrency':>11}  {'median':>8}  {'runs':<16} {'ideal':>7}  {'x baseline':>10}  "
        f"{'x ideal':>7}  {'pool-full discards':>18}"
    )
    for point in points:
        runs = " ".join(f"{t:.2f}" for t in timings[point.concurrency])
        say(
            f"  {point.concurrency:>11}  {point.seconds:>7.2f}s  {runs:<16} {point.ideal:>6.2f}s  "
            f"{point.speedup:>9.1f}x  {point.over_ideal:>6.2f}x  {point.discards:>18}"
            f"{'  both goals met' if point.meets else ''}"
        )
    if any(point.discards for point in points):
        say(
            "  (pool-full discards: urllib3 closed a keep-alive connection because more threads used one "
            "of the provider's sessions than its pool holds; each costs a new connection later)"
        )

    chosen = select(points)
    at_default = next(point for point in points if point.concurrency == default)
    if chosen.meets and chosen is at_default:
        say(f"  The default concurrency ({default}) meets both goals.")
    elif chosen.meets:
        say(
            f"  The default concurrency ({default}) does not meet both goals; {chosen.concurrency} is the "
            "smallest measured concurrency that does, and the figures below use it."
        )
    else:
        say(
            f"  No measured concurrency meets both goals; the figures below use {chosen.concurrency}, "
            f"the closest (the default is {default})."
        )

    say(
        f"  With a full ledger ({DEFAULT_LEDGER_SIZE:,} earlier deliveries, as a long-lived workflow has) "
        f"at the default concurrency: {with_ledger:.2f} s, against {at_default.seconds:.2f} s fresh"
    )

    figures = _figures(chosen, counts=True)
    if chosen is not at_default:
        figures += _figures(at_default, counts=False)
    figures.append(
        Figure(
            name=f"Throughput, ledger of {DEFAULT_LEDGER_SIZE:,} deliveries (c={default}, default)",
            ours=f"{with_ledger:.2f} s ({PROFILES / with_ledger:.0f}/s)",
            baseline=f"{baseline_seconds:.2f} s",
            ratio=_faster(baseline_seconds, with_ledger),
            goal="none (info)",
            met=None,
            counts=False,
        )
    )
    return figures, Selection(default, chosen.concurrency, chosen.meets)


def _figures(point: Point, *, counts: bool) -> list[Figure]:
    """The two goal rows of one concurrency; ``counts`` is False for the default shown for information."""
    label = f"c={point.concurrency}" + ("" if counts else ", default, info")
    rate = PROFILES / point.seconds
    return [
        Figure(
            name=f"Throughput, {PROFILES} profiles, {HUB_LATENCY_MS} ms hub ({label})",
            ours=f"{point.seconds:.2f} s ({rate:.0f}/s)",
            baseline=f"{point.baseline_seconds:.2f} s",
            ratio=_faster(point.baseline_seconds, point.seconds),
            goal=f">= {SPEEDUP_GOAL:.0f}x",
            met=point.speedup >= SPEEDUP_GOAL,
            counts=counts,
        ),
        Figure(
            name=f"Throughput vs ideal N*latency/c ({label})",
            ours=f"{point.seconds:.2f} s",
            baseline=f"ideal {point.ideal:.2f} s",
            ratio=f"{point.over_ideal:.2f}x ideal",
            goal=f"<= {IDEAL_GOAL}x ideal",
            met=point.over_ideal <= IDEAL_GOAL,
            counts=counts,
        ),
    ]

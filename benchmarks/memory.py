"""Peak memory: 100 profiles, each with a 2 MB CV, against the same run without CVs.

The figure is the growth of the peak resident set size (``ru_maxrss``) of a process that runs
the action once, over the peak of the same run on the same profiles without attachments. RSS,
rather than tracemalloc, because it is what a worker's memory limit and the OOM killer see: it
counts what tracemalloc cannot (buffers of pydantic-core and of the C parts of the standard
library, allocator fragmentation across the pool's threads), and it costs nothing to measure,
whereas tracemalloc slows every allocation and would change how the threads interleave.

Every measurement runs in a fresh subprocess (``python -m benchmarks.memory --child ...``) that
imports the same modules before it starts, so peaks of different runs never mix and the
reference run subtracts the interpreter, the imports and the per-profile work. The sandbox runs
in a process of its own, so neither the served files nor the received candidates count.

The baseline holds every payload, base64 CV included, before its first push, so its growth is
about the base64 size of all the CVs; the provider's should be bounded by the concurrency.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import uuid

from benchmarks.support import PUSH_PARAMETERS, Figure, SandboxInfo, run_json_child, running_sandbox, say
from benchmarks.throughput import Selection

PROFILES = 100
CV_BYTES = 2 * 1024 * 1024
HUB_LATENCY_MS = 25
"""The throughput benchmark's latency: the pool stays full, every worker holding its payload."""

GOAL_MB = 150.0
MIB = 1024 * 1024
MB = 1_000_000
"""Figures are printed in MB of 10^6 bytes, the unit of the goal; the CVs are sized in MiB."""


def _peak_bytes() -> int:
    """Peak RSS of this process so far; Linux reports KiB, macOS bytes."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def child(sandbox: SandboxInfo, runner: str, with_cvs: bool, concurrency: int) -> dict[str, float]:
    """One measured run in this (fresh) process; returns peak RSS before and after it, in bytes."""
    import tempfile

    from airflow_provider_broadbean import Broadbean, RunOptions
    from airflow_provider_broadbean.state import JsonFileStateStore
    from benchmarks.baseline import run_baseline

    source = sandbox.with_cv_source if with_cvs else sandbox.without_cv_source
    start = _peak_bytes()
    started = time.perf_counter()
    if runner == "ours":
        with tempfile.TemporaryDirectory(prefix="broadbean-bench-state-") as state_dir:
            result = Broadbean.create_profiles_in_broadbean(
                workflow_id=f"bench-memory-{uuid.uuid4().hex}",
                logics=[],
                connector_auth=sandbox.connector_auth(),
                hrflow_auth=sandbox.hrflow_auth(),
                pull_parameters={"source_key": source},
                push_parameters=PUSH_PARAMETERS,
                state_store=JsonFileStateStore(state_dir),
                options=RunOptions(concurrency=concurrency),
            )
        delivered = len(result.delivered)
    else:
        delivered = run_baseline(
            hrflow_url=sandbox.hrflow_url,
            api_secret=sandbox.api_secret,
            api_user=sandbox.api_user,
            source_key=source,
            hub_url=sandbox.hub_url,
            hub_secret=sandbox.hub_secret,
            push_parameters=PUSH_PARAMETERS,
        ).sent
    return {
        "peak": _peak_bytes(),
        "start": start,
        "seconds": time.perf_counter() - started,
        "delivered": delivered,
    }


def _measure_one(sandbox: SandboxInfo, runner: str, with_cvs: bool, concurrency: int) -> float:
    """Peak RSS in bytes of one run in a fresh subprocess; raises unless every profile went."""
    reply = run_json_child(
        [
            "-m",
            "benchmarks.memory",
            "--child",
            sandbox.to_json(),
            runner,
            "with" if with_cvs else "without",
            str(concurrency),
        ]
    )
    sandbox.clear_hub()
    if reply["delivered"] != PROFILES:
        raise RuntimeError(f"{runner} delivered {reply['delivered']} of {PROFILES} profiles")
    what = f"{runner}{f' c={concurrency}' if runner == 'ours' else ''}, {'with' if with_cvs else 'no'} CVs"
    say(
        f"  {what:<24} peak RSS {reply['peak'] / MB:7.1f} MB "
        f"(before the run {reply['start'] / MB:.1f} MB), {reply['seconds']:.1f} s"
    )
    return float(reply["peak"])


def measure(selection: Selection) -> list[Figure]:
    """Run the benchmark at the default concurrency and at the one the throughput figures use.

    The default's row always counts. The other counts only when that concurrency meets the
    throughput goals, i.e. when it is a real candidate for the default; otherwise it is information.
    """
    say(
        f"Peak memory: {PROFILES} profiles with a {CV_BYTES // MIB} MiB CV each vs the same without CVs; "
        "peak RSS (ru_maxrss) of a fresh subprocess per run"
    )
    levels = sorted({selection.default, selection.chosen})
    figures: list[Figure] = []
    with running_sandbox(profiles=PROFILES, cv_bytes=CV_BYTES, hub_latency_ms=HUB_LATENCY_MS) as sandbox:
        base_growth = _measure_one(sandbox, "baseline", True, 1) - _measure_one(sandbox, "baseline", False, 1)
        for concurrency in levels:
            growth = _measure_one(sandbox, "ours", True, concurrency) - _measure_one(
                sandbox, "ours", False, concurrency
            )
            is_default = concurrency == selection.default
            counts = is_default or selection.chosen_meets
            label = f"c={concurrency}" + (", default" if is_default else "") + ("" if counts else ", info")
            figures.append(
                Figure(
                    name=f"Peak RSS growth, {PROFILES} x {CV_BYTES // MIB} MiB CVs ({label})",
                    ours=f"+{growth / MB:.0f} MB",
                    baseline=f"+{base_growth / MB:.0f} MB",
                    ratio=f"{base_growth / growth:.1f}x less" if growth > 0 else "no growth",
                    goal=f"< {GOAL_MB:.0f} MB",
                    met=growth < GOAL_MB * MB,
                    counts=counts,
                )
            )
    return figures


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.memory --child SANDBOX RUNNER with|without CONCURRENCY``: one run."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.memory")
    parser.add_argument(
        "--child", nargs=4, metavar=("SANDBOX", "RUNNER", "CVS", "CONCURRENCY"), required=True
    )
    sandbox_json, runner, cvs, concurrency = parser.parse_args(argv).child
    reply = child(SandboxInfo.from_json(sandbox_json), runner, cvs == "with", int(concurrency))
    print(json.dumps(reply), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

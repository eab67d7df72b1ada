"""``python -m benchmarks`` (``make bench``): run every benchmark, print the table, exit 1 on a miss.

``--only throughput,memory`` runs a subset (the memory benchmark then measures at the default
concurrency only, since the throughput benchmark chooses the other one).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time

from benchmarks.support import Figure, machine_line, say
from benchmarks.throughput import Selection

BENCHMARKS = ("throughput", "memory", "cpu", "dag")
COLUMNS = ("figure", "ours", "baseline", "ratio", "goal", "met")


def _met(figure: Figure) -> str:
    """``yes`` or ``no``, marked ``(info)`` when the row does not decide the exit status; ``-``: no goal."""
    if figure.met is None:
        return "-"
    text = "yes" if figure.met else "no"
    return text if figure.counts else f"{text} (info)"


def render(figures: list[Figure]) -> str:
    """The figures as a plain-text table, one row each."""
    rows = [COLUMNS] + [(f.name, f.ours, f.baseline, f.ratio, f.goal, _met(f)) for f in figures]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the selected benchmarks in order; 0 when every goal that counts is met."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", default=",".join(BENCHMARKS), help="comma-separated: " + ", ".join(BENCHMARKS)
    )
    selected = [name.strip() for name in parser.parse_args(argv).only.split(",") if name.strip()]
    unknown = sorted(set(selected) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    # The provider logs one line per profile at INFO; only warnings and errors are worth showing here.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # Loopback only: a proxy configured in the environment must not see the sandbox's traffic.
    for name in ("NO_PROXY", "no_proxy"):
        os.environ[name] = ",".join(filter(None, [os.environ.get(name), "127.0.0.1", "localhost"]))

    started = time.perf_counter()
    figures: list[Figure] = []
    selection: Selection | None = None
    if "throughput" in selected:
        from benchmarks import throughput

        rows, selection = throughput.measure()
        figures += rows
        say()
    if "memory" in selected:
        from benchmarks import memory

        if selection is None:
            from airflow_provider_broadbean import RunOptions

            default = RunOptions().concurrency
            selection = Selection(default, default, chosen_meets=False)
        figures += memory.measure(selection)
        say()
    if "cpu" in selected:
        from benchmarks import cpu

        figures += cpu.measure()
        say()
    if "dag" in selected:
        from benchmarks import dag_parse

        figures += dag_parse.measure()
        say()

    say(render(figures))
    say()
    say(f"Machine: {machine_line()}")
    missed = [figure.name for figure in figures if figure.counts and figure.met is False]
    say(f"Command: python -m benchmarks ({time.perf_counter() - started:.0f} s)")
    if missed:
        say(f"Goals not met: {'; '.join(missed)}")
        return 1
    say("Every goal is met.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

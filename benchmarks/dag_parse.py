"""DAG-file parse cost: what each file in ``dags/`` adds on top of ``import airflow.sdk``.

Airflow's DAG processor imports every DAG file again and again, so a provider must keep what a DAG
file pulls in small. Each measurement is a fresh interpreter that imports ``airflow.sdk`` (and, for
the goal row, what the DAG processor has loaded, see below), then starts the clock and executes the
DAG file as Airflow does (a module built from the file), in the environment the tests use
(``AIRFLOW_HOME`` in a temporary directory, no example DAGs). Figures are medians of several runs.
The reference (the "baseline" column) is a minimal DAG, one task of a trivial ``BaseOperator``
subclass and one Param, measured the same way as the file it is compared with.

*In the DAG processor* (the goal row). Airflow 3 parses each file in a child process that is
forked, not exec'd, from the DAG processor manager: ``DagFileProcessorManager._create_process``
calls ``DagFileProcessorProcess.start`` (``airflow/dag_processing/manager.py``), which imports the
``airflow.*`` modules the file names (``_pre_import_airflow_modules``) and then calls
``WatchedSubprocess.start`` (``airflow/sdk/execution_time/supervisor.py``): a bare ``os.fork()``
(``use_exec`` stays False for the DAG processor), whose child runs ``_parse_file_entrypoint``,
which builds a ``BundleDagBag`` that executes the file. The manager had ``gc.freeze()``-d its heap
before forking (``before_run``). So the child starts with everything the manager imported, and
``airflow.dag_processing.processor`` alone imports the DAG machinery: ``DagBag``, the serialization
(``airflow.models.dag``, ``airflow.serialization.encoders``) and with them ``DAG``,
``BaseOperator``, ``Param``, Airflow's core timetables, the SDK timetables and ``croniter``. This
row reproduces that state instead of listing modules: the child imports the manager's own module
(``airflow.dag_processing.manager``, which imports the processor's), calls the processor's own
``_pre_import_airflow_modules`` on the file and ``gc.freeze()``, then starts the clock.

*Alone, right after* ``import airflow.sdk`` (informational). The literal reading of the goal: a
fresh interpreter that has imported ``airflow.sdk`` and nothing else. It cannot go below about
20 ms for any DAG file on this machine, whatever the file contains: ``import airflow`` already
loads ``DAG``, ``BaseOperator`` and ``Param`` (through ``settings.initialize()`` and the masking
of secrets, which imports the task runner), but the first ``DAG(...)`` of a process imports the
timetables: ``DAG._default_timetable`` calls ``_is_core_timetable``, which imports
``airflow.timetables.base`` (and with it the execution API's pydantic asset models), and
``_create_timetable``, which imports the SDK's interval and trigger timetables and ``croniter``,
even for ``schedule=None`` (``airflow/sdk/definitions/dag.py``). The reference DAG pays the same
(about 20 ms, against about 1.5 ms in the DAG processor); the table prints both.

Bytecode is cached (``PYTHONPYCACHEPREFIX`` in a temporary directory, after one uncounted warm-up
run), as in any deployed Airflow. Without a cache (``PYTHONDONTWRITEBYTECODE=1``, set in some
containers) every process compiles Airflow and the provider from source, and the figures roughly
double.

The import check runs the operator and hook modules under an ``__import__`` spy and lists which
heavy modules they load or import themselves (``hrflow``, ``pydantic``, the pipeline and the
mapping belong to the task, not to parsing); its baseline is an eager operator module, one that
would import the action at module level.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from benchmarks.support import REPO, Figure, median, run_json_child, say

RUNS = 5
IMPORT_RUNS = 3
GOAL_MS = 20.0

HEAVY = (
    "hrflow",
    "pydantic",
    "airflow_provider_broadbean.pipeline",
    "airflow_provider_broadbean.mapping",
)
OPERATOR = "airflow_provider_broadbean.operators.create_profiles"
HOOKS = ("airflow_provider_broadbean.hooks.broadbean", "airflow_provider_broadbean.hooks.hrflow")
EAGER = (
    OPERATOR,
    "airflow_provider_broadbean.connector",
    "airflow_provider_broadbean.mapping",
    "airflow_provider_broadbean.hrflow_client",
    "airflow_provider_broadbean.candidate_hub",
)
"""What the operator module would load if it imported the action at module level."""

REFERENCE_DAG = """\
from datetime import datetime

from airflow.sdk import DAG, BaseOperator, Param


class Noop(BaseOperator):
    def execute(self, context):
        return None


with DAG(
    dag_id="benchmark_reference",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    params={"profile_key": Param("", type="string")},
):
    Noop(task_id="noop")
"""

PROCESSOR = "processor"
"""Preload of the goal row: what the DAG processor's parsing child has loaded (see the docstring)."""
SDK_ONLY = "sdk"
"""Preload of the literal reading: ``import airflow.sdk`` and nothing else."""

# Runs in a fresh interpreter: standard library only before the clock starts, nothing else loaded.
CHILD = r"""
import builtins, gc, importlib, importlib.util, json, sys, time

mode, kind, target, preload = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[5]
heavy = sys.argv[4].split(",")
started = time.perf_counter()
import airflow.sdk
sdk_loaded = time.perf_counter()
if preload == "processor":
    # The state of the DAG processor's parsing child: forked from DagFileProcessorManager (whose
    # module imports airflow.dag_processing.processor) after it pre-imported the file's airflow.*
    # imports and froze its heap.
    import structlog
    import airflow.dag_processing.manager
    from airflow.dag_processing.processor import _pre_import_airflow_modules

    if kind == "files":
        for path in target.split(","):
            _pre_import_airflow_modules(path, structlog.get_logger())
    gc.freeze()
preloaded = time.perf_counter()
before = set(sys.modules)
importers = {}

def _is_heavy(name):
    return next((h for h in heavy if name == h or name.startswith(h + ".")), None)

if mode == "imports":
    real_import = builtins.__import__

    def spy(name, globals=None, locals=None, fromlist=(), level=0):
        importer = (globals or {}).get("__name__") or "?"
        if level == 0 and importer.startswith("airflow_provider_broadbean"):
            for full in [name] + [name + "." + item for item in (fromlist or ())]:
                found = _is_heavy(full)
                if found:
                    importers.setdefault(found, set()).add(importer)
        return real_import(name, globals, locals, fromlist, level)

    builtins.__import__ = spy

timings = []
if kind == "files":
    for index, path in enumerate(target.split(",")):
        clock = time.perf_counter()
        spec = importlib.util.spec_from_file_location(f"benchmark_dag_file_{index}", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        timings.append((time.perf_counter() - clock) * 1000)
else:
    clock = time.perf_counter()
    for name in target.split(","):
        importlib.import_module(name)
    timings.append((time.perf_counter() - clock) * 1000)
new = set(sys.modules) - before
print(json.dumps({
    "ms": timings,
    "sdk_ms": (sdk_loaded - started) * 1000,
    "preload_ms": (preloaded - sdk_loaded) * 1000,
    "heavy_new": [h for h in heavy if h in new],
    "heavy_preloaded": [h for h in heavy if h in before],
    "imported_by_ours": {h: sorted(names) for h, names in importers.items()},
    "ours_loaded": sorted(m for m in new if m.startswith("airflow_provider_broadbean")),
    "new_modules": len(new),
}))
"""


def _env(home: Path, pycache: Path) -> dict[str, str]:
    """The tests' Airflow environment, with bytecode cached under ``pycache``."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_FOLDER=str(REPO / "dags"),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
        PYTHONPYCACHEPREFIX=str(pycache),
    )
    return env


def _child(
    mode: str, kind: str, targets: Iterable[str], env: dict[str, str], preload: str = SDK_ONLY
) -> dict[str, Any]:
    arguments = ["-c", CHILD, mode, kind, ",".join(targets), ",".join(HEAVY), preload]
    return dict(run_json_child(arguments, env=env, timeout=180))


def _describe(values: Iterable[float]) -> str:
    return " ".join(f"{value:.1f}" for value in values)


def _parse_times(dag_files: list[Path], reference: Path, env: dict[str, str]) -> dict[str, list[float]]:
    """Milliseconds per run: the reference and each DAG file, in the DAG processor and alone.

    Every figure is the first file a fresh interpreter executes. The runs take turns, so that a slow
    moment of the machine does not fall on one file only.
    """
    for preload in (PROCESSOR, SDK_ONLY):  # warm-up: caches bytecode
        _child("time", "files", [str(reference), *map(str, dag_files)], env, preload)
    runs: dict[str, list[float]] = {}
    for _ in range(RUNS):
        for path in (reference, *dag_files):
            for preload, label in ((PROCESSOR, "in the DAG processor"), (SDK_ONLY, "alone")):
                ms = _child("time", "files", [str(path)], env, preload)["ms"][0]
                runs.setdefault(f"{_label(path, reference)} {label}", []).append(ms)
    return runs


def _label(path: Path, reference: Path) -> str:
    return "reference" if path == reference else path.name


def _import_times(env: dict[str, str]) -> dict[str, list[float]]:
    """Milliseconds to import the operator module, and an eager equivalent, after ``airflow.sdk``."""
    _child("time", "modules", [*EAGER, *HOOKS], env)  # warm-up: caches bytecode
    runs: dict[str, list[float]] = {"operator module": [], "eager operator": []}
    for _ in range(IMPORT_RUNS):
        runs["operator module"].append(_child("time", "modules", [OPERATOR], env)["ms"][0])
        runs["eager operator"].append(_child("time", "modules", EAGER, env)["ms"][0])
    return runs


def measure() -> list[Figure]:
    """Run the benchmark; returns two rows per DAG file and one for the import check."""
    dag_files = sorted((REPO / "dags").glob("*.py"))
    say(
        "DAG parse: each file in dags/ executed first in a fresh interpreter, with what the DAG "
        "processor's parsing child has loaded (forked from the manager: airflow.dag_processing.manager "
        "and .processor imported, the file's airflow.* imports pre-imported, gc.freeze()) and, "
        f"for information, right after `import airflow.sdk` alone; median of {RUNS} runs, bytecode cached"
    )
    with tempfile.TemporaryDirectory(prefix="broadbean-bench-airflow-") as scratch:
        root = Path(scratch)
        (root / "home").mkdir()
        reference = root / "reference_dag.py"
        reference.write_text(REFERENCE_DAG, encoding="utf-8")
        env = _env(root / "home", root / "pycache")
        runs = _parse_times(dag_files, reference, env)
        runs.update(_import_times(env))
        checks = {module: _child("imports", "modules", [module], env) for module in (OPERATOR, *HOOKS)}

    medians = {name: median(values) for name, values in runs.items()}
    for name, values in runs.items():
        say(f"  {name:<52} median {medians[name]:6.1f} ms  runs: {_describe(values)}")

    reference_processor = medians["reference in the DAG processor"]
    reference_alone = medians["reference alone"]
    say(
        f"  Alone, right after `import airflow.sdk`, no DAG file can go below about {reference_alone:.0f} ms "
        f"here: the minimal reference DAG takes {reference_alone:.1f} ms that way against "
        f"{reference_processor:.1f} ms in the DAG processor, since the first DAG(...) of a process imports "
        "the timetables (airflow.timetables.base with the execution API's asset models, the SDK's "
        "interval and trigger timetables, croniter), which the DAG processor has already loaded."
    )
    figures: list[Figure] = []
    for path in dag_files:
        in_processor, alone = medians[f"{path.name} in the DAG processor"], medians[f"{path.name} alone"]
        figures += [
            Figure(
                name=f"DAG parse: {path.name}, in the DAG processor",
                ours=f"{in_processor:.1f} ms",
                baseline=f"reference DAG {reference_processor:.1f} ms",
                ratio=f"{in_processor / reference_processor:.2f}x reference",
                goal=f"< {GOAL_MS:.0f} ms",
                met=in_processor < GOAL_MS,
            ),
            Figure(
                name=f"DAG parse: {path.name}, alone after import airflow.sdk",
                ours=f"{alone:.1f} ms",
                baseline=f"reference DAG {reference_alone:.1f} ms",
                ratio=f"{alone / reference_alone:.2f}x reference",
                goal=f"< {GOAL_MS:.0f} ms",
                met=alone < GOAL_MS,
                counts=False,
            ),
        ]

    say("Import check: heavy modules (" + ", ".join(HEAVY) + ") on top of `import airflow.sdk`")
    clean = True
    for module, check in checks.items():
        loaded, own = check["heavy_new"], check["imported_by_ours"]
        clean = clean and not loaded and not own
        say(f"  {module}")
        say(f"    heavy modules it loads: {', '.join(loaded) or 'none'}")
        say(f"    heavy modules its code imports (even if already loaded): {', '.join(own) or 'none'}")
        say(f"    already loaded by airflow.sdk itself: {', '.join(check['heavy_preloaded']) or 'none'}")
        say(f"    provider modules it loads: {', '.join(check['ours_loaded']) or 'none'}")
    operator_ms, eager_ms = medians["operator module"], medians["eager operator"]
    figures.append(
        Figure(
            name="Operator + hooks import no hrflow/pydantic/pipeline/mapping",
            ours=f"{'none' if clean else 'some'}; operator {operator_ms:.1f} ms",
            baseline=f"eager operator {eager_ms:.1f} ms",
            ratio=f"{eager_ms / operator_ms:.0f}x cheaper",
            goal="none imported",
            met=clean,
        )
    )
    return figures

"""Benchmarks of the provider against a naive baseline, run with ``python -m benchmarks``.

Each benchmark module measures one figure and, in the same run, the baseline it is compared with:
:mod:`~benchmarks.throughput`, :mod:`~benchmarks.memory`, :mod:`~benchmarks.cpu` and
:mod:`~benchmarks.dag_parse`. :mod:`~benchmarks.baseline` is the naive delivery of hrflow-connectors
rebuilt on this provider's own mapping and signing; :mod:`~benchmarks.sandbox_process` runs the
sandbox in a process of its own. None of this is a test: ``make test`` never collects it, and no
figure here is asserted by pytest.
"""

"""Apache Airflow provider: HrFlow.ai profiles to Broadbean's Candidate Hub.

``from airflow_provider_broadbean import Broadbean`` gives the hrflow-connectors style entry point.
Names are loaded on first use so that importing the package (as Airflow does for every DAG file
that uses the operator) stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Broadbean", "RunOptions", "default_format"]

if TYPE_CHECKING:
    from airflow_provider_broadbean.connector import Broadbean
    from airflow_provider_broadbean.mapping import default_format
    from airflow_provider_broadbean.pipeline import RunOptions


def __getattr__(name: str) -> Any:
    if name == "Broadbean":
        from airflow_provider_broadbean.connector import Broadbean

        return Broadbean
    if name == "RunOptions":
        from airflow_provider_broadbean.pipeline import RunOptions

        return RunOptions
    if name == "default_format":
        from airflow_provider_broadbean.mapping import default_format

        return default_format
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

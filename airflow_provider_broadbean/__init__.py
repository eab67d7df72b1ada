"""Apache Airflow provider: HrFlow.ai profiles to Broadbean's Candidate Hub."""

from __future__ import annotations

__version__ = "0.1.0"

"""Operators of the Broadbean provider."""

from __future__ import annotations

from airflow_provider_broadbean.operators.create_profiles import CreateProfilesInBroadbeanOperator

__all__ = ["CreateProfilesInBroadbeanOperator"]

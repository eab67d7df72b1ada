"""Operators of the Broadbean provider."""

from __future__ import annotations

from airflow_provider_broadbean.operators.commit_batches import CommitProfileBatchesOperator
from airflow_provider_broadbean.operators.create_profiles import CreateProfilesInBroadbeanOperator
from airflow_provider_broadbean.operators.plan_batches import PlanProfileBatchesOperator

__all__ = ["CommitProfileBatchesOperator", "CreateProfilesInBroadbeanOperator", "PlanProfileBatchesOperator"]

"""Local emulators of HrFlow.ai and Broadbean's Candidate Hub, for tests and the demo."""

from __future__ import annotations

from sandbox.candidate_hub import CandidateHub
from sandbox.hrflow_api import HrFlowApi
from sandbox.server import Sandbox

__all__ = ["CandidateHub", "HrFlowApi", "Sandbox"]

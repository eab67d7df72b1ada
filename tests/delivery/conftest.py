"""Fixtures of the delivery suites: a workflow on its own source of the sandbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.delivery.helpers import SOURCE, Workflow


@pytest.fixture
def workflow(sandbox: Any, tmp_path: Path) -> Workflow:
    """A workflow whose state is a JSON file in a temporary folder, on an empty source."""
    sandbox.hrflow.add_source(SOURCE, "Delivery tests")
    return Workflow(sandbox, tmp_path / "state")

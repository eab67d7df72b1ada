"""Fixtures for the sandbox's own tests: a fresh Sandbox on free ports for every test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox import Sandbox


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    """Both emulators with the seed loaded and the hub writing to a temporary data dir."""
    with Sandbox(data_dir=tmp_path / "data", hub_max_body_bytes=64 * 1024) as running:
        yield running

"""Fixtures of the mapping tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from mapping_support import FileServer, start_file_server


@pytest.fixture
def file_server() -> Iterator[FileServer]:
    """A local file server with the ``files`` of ``attachments.json``; tests may add routes."""
    server, stop = start_file_server()
    try:
        yield server
    finally:
        stop()

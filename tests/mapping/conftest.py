"""Fixtures of the mapping tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from mapping_support import FileServer, start_file_server


@pytest.fixture(autouse=True)
def _no_proxy_for_localhost(monkeypatch: pytest.MonkeyPatch) -> None:
    """Downloads from 127.0.0.1 go direct, in case the machine running the tests sets a proxy."""
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")


@pytest.fixture
def file_server() -> Iterator[FileServer]:
    """A local file server with the ``files`` of ``attachments.json``; tests may add routes."""
    server, stop = start_file_server()
    try:
        yield server
    finally:
        stop()

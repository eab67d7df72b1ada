"""``Sandbox``: both emulators started and stopped together, the way tests and the demo use them."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

from sandbox.candidate_hub import CandidateHub
from sandbox.config import (
    HOST,
    HRFLOW_API_SECRET,
    HRFLOW_API_USER,
    HUB_MAX_BODY_BYTES,
    HUB_SECRET,
    HUB_SOURCES,
    SEED_DIR,
    SOURCE_KEY,
)
from sandbox.hrflow_api import HrFlowApi


class Sandbox:
    """The HrFlow emulator and the Candidate Hub emulator on 127.0.0.1.

    :param hrflow_port: port of the HrFlow emulator; 0 picks a free one.
    :param hub_port: port of the hub emulator; 0 picks a free one.
    :param data_dir: where the hub appends accepted candidates (``candidates.jsonl``); ``None``
        keeps them in memory only.
    :param seed_dir: seed profiles and files for HrFlow; ``None`` starts with no profile.
    :param hub_clock: the hub's clock for signature times (inject one to test the public vector).
    """

    def __init__(
        self,
        hrflow_port: int = 0,
        hub_port: int = 0,
        data_dir: Path | str | None = None,
        seed_dir: Path | str | None = SEED_DIR,
        hub_clock: Callable[[], float] = time.time,
        *,
        hub_secret: str = HUB_SECRET,
        hub_sources: Iterable[str] = HUB_SOURCES,
        hub_max_body_bytes: int = HUB_MAX_BODY_BYTES,
    ) -> None:
        self.hrflow_port = hrflow_port
        self.hub_port = hub_port
        self.hrflow = HrFlowApi(seed_dir, host=HOST)
        self.hub = CandidateHub(
            hub_secret,
            hub_sources,
            data_dir=data_dir,
            clock=hub_clock,
            max_body_bytes=hub_max_body_bytes,
            host=HOST,
        )

    def start(self) -> Sandbox:
        """Start both servers; if the second cannot bind, the first is stopped again."""
        self.hrflow.start(self.hrflow_port)
        try:
            self.hub.start(self.hub_port)
        except BaseException:
            self.hrflow.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop both servers (safe to call twice)."""
        self.hub.stop()
        self.hrflow.stop()

    def reset(self) -> None:
        """Both emulators back to their first state: seed reloaded, no candidate, no fault."""
        self.hrflow.reset()
        self.hub.reset()

    @property
    def hrflow_url(self) -> str:
        """The HrFlow API root, ``http://127.0.0.1:P/v1/``."""
        return self.hrflow.url

    @property
    def files_url(self) -> str:
        """Where attachment files are served, ``http://127.0.0.1:P/_files``."""
        return self.hrflow.files_url

    @property
    def hub_url(self) -> str:
        """The hub's base URL, ``http://127.0.0.1:Q`` (the client appends ``/candidate``)."""
        return self.hub.url

    def describe(self) -> dict[str, Any]:
        """URLs and credentials, as ``python -m sandbox`` prints them."""
        return {
            "hrflow_url": self.hrflow_url,
            "hub_url": self.hub_url,
            "files_url": self.files_url,
            "api_user": HRFLOW_API_USER,
            "api_secret": HRFLOW_API_SECRET,
            "source_key": SOURCE_KEY,
            "hub_secret": self.hub.secret,
            "hub_sources": sorted(self.hub.sources),
            "data_dir": str(self.hub.data_dir) if self.hub.data_dir is not None else None,
        }

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

"""Credentials, limits and defaults shared by the two emulators, the runner and the tests.

Everything here is invented for the sandbox: none of these values opens anything real. The HrFlow
secret has the shape the ``hrflow`` SDK checks (``^ask[rw]?_[0-9a-f]{32}$``) so the SDK's own
validation passes against the emulator.
"""

from __future__ import annotations

from pathlib import Path

HOST = "127.0.0.1"

# HrFlow.ai: the key pair that owns the seeded source.
HRFLOW_API_SECRET = "askw_342f8eb174c79f2c909ab84f5ca436eb"
HRFLOW_API_USER = "demo@sandbox.test"

# A second key pair that authenticates (``GET /v1/auth`` succeeds) but reaches no source, to
# exercise the "no access to this source" 401.
HRFLOW_OTHER_API_SECRET = "askr_871110613eb3bfd68c722baf10522033"
HRFLOW_OTHER_API_USER = "outsider@sandbox.test"

SOURCE_KEY = "fa56957a3d5848d8e2427b97fae328c12655fb88"
SOURCE_NAME = "Sandbox careers site"

# Broadbean Candidate Hub.
HUB_SECRET = "7uRnuI8OKmGQ0cd4iUar5ydkt_XQ-RrW"
HUB_SOURCES = ("board1", "sandbox-board")
HUB_MAX_BODY_BYTES = 25 * 1024 * 1024
# A signature time further than this from the hub's clock is rejected (docs/protocols.md, section 1).
SIGNATURE_WINDOW_S = 300

# Ports used by ``python -m sandbox`` when none is given; the Python API defaults to free ports.
DEFAULT_HRFLOW_PORT = 8000
DEFAULT_HUB_PORT = 8001

SEED_DIR = Path(__file__).resolve().parent / "seed"

# How many request log entries each emulator keeps (oldest dropped first).
REQUEST_LOG_SIZE = 10_000

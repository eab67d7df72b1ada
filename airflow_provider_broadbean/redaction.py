"""Keeping credentials out of messages built from what a service sent back.

A service may echo request headers in an error body (a proxy page, a verbose 401). Any text taken
from a reply passes through :func:`redact` before it reaches a log, an exception or a result.
"""

from __future__ import annotations

from collections.abc import Iterable

MASK = "***"
MIN_SECRET_LENGTH = 5


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every occurrence of each secret (5 characters or more) with ``***``."""
    for secret in sorted((s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text

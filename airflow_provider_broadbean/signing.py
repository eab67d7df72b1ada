"""Candidate Hub request signing.

Every request carries ``X-CHUB-SIGNATURE-TIME`` (Unix time in whole seconds), ``X-CHUB-SOURCE``
and ``X-CHUB-SIGNATURE``: the lowercase hex HMAC-SHA256 of ``"<source id>|<time>"`` keyed with
the secret. A signature is valid for five minutes, so every HTTP attempt is signed immediately
before it is sent, retries included.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable

SIGNATURE_HEADER = "X-CHUB-SIGNATURE"
TIME_HEADER = "X-CHUB-SIGNATURE-TIME"
SOURCE_HEADER = "X-CHUB-SOURCE"


def signature(secret: str, source_id: str, timestamp: int) -> str:
    """Return the hex HMAC-SHA256 of ``"<source_id>|<timestamp>"`` keyed with ``secret``."""
    message = f"{source_id}|{int(timestamp)}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(secret: str, source_id: str, clock: Callable[[], float] = time.time) -> dict[str, str]:
    """Return the three authentication headers for a request sent now."""
    now = int(clock())
    return {
        TIME_HEADER: str(now),
        SOURCE_HEADER: source_id,
        SIGNATURE_HEADER: signature(secret, source_id, now),
    }

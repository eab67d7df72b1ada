"""Errors raised by the hooks and the pipeline.

Every error carries a message that names what failed (profile key, field, HTTP status, the
service's error text) and never a credential.
"""

from __future__ import annotations


class BroadbeanProviderError(Exception):
    """Base class of every error this provider raises on purpose."""


class HrFlowError(BroadbeanProviderError):
    """HrFlow answered with an error, or could not be reached after the allowed retries.

    :param status: the HTTP status, or None when no reply was received.
    """

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AttachmentError(HrFlowError):
    """An attachment could not be downloaded: non-2xx, empty, too large or unreachable."""


class HubError(BroadbeanProviderError):
    """The Candidate Hub did not accept a candidate.

    :param status: the HTTP status, or None when no reply was received.
    :param error: the hub's own error text, when it sent one.
    :param retryable: True when sending the same candidate later can succeed (429, 5xx, no
        connection); False for a rejection of the request itself (400, 401, 403, 413).
    :param ambiguous: True when the request may have reached the hub and been stored without a
        readable reply (read timeout, connection reset after sending). Such a candidate must not
        be resent blindly.
    :param retry_after: seconds the hub asked to wait (``Retry-After`` of a 429), when given.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error: str | None = None,
        retryable: bool = False,
        ambiguous: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.retryable = retryable
        self.ambiguous = ambiguous
        self.retry_after = retry_after


class MappingError(BroadbeanProviderError):
    """A profile cannot become a Broadbean candidate.

    Raised only when a field Broadbean requires cannot be produced, or a document that must be
    sent cannot be.

    :param profile_key: the HrFlow profile key.
    :param field: the candidate field (``email``, ``name``, ``documents``...) that failed.
    """

    def __init__(self, profile_key: str | None, field: str, detail: str) -> None:
        super().__init__(f"profile {profile_key or '<no key>'}: field {field!r}: {detail}")
        self.profile_key = profile_key
        self.field = field
        self.detail = detail

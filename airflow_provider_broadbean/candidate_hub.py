"""HTTP client of Broadbean's Candidate Hub: one signed ``POST /candidate`` per candidate.

It owns what the hub's protocol demands of a sender: a fresh signature per attempt, retries only
for what is safe to repeat, and a typed error that tells the caller whether the candidate may
already be stored (an *ambiguous* send) and must not be resent blindly.
"""

from __future__ import annotations

import json
import logging
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from ssl import CertificateError
from typing import Any

import urllib3
from tenacity import Retrying, retry_if_exception, stop_after_attempt, stop_after_delay
from tenacity.wait import wait_exponential_jitter
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    LocationValueError,
    NewConnectionError,
    ProxyError,
    ReadTimeoutError,
    SSLError,
)

from airflow_provider_broadbean.exceptions import HubError
from airflow_provider_broadbean.redaction import redact
from airflow_provider_broadbean.signing import SIGNATURE_HEADER, signed_headers
from airflow_provider_broadbean.transport import Transport

log = logging.getLogger(__name__)

DEFAULT_HUB_URL = "https://candidatehub.adcourier.com"
MAX_LOGGED_BODY = 500
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
SUCCESS_VALUES = (1, True, "1")
FAILURE_VALUES = (0, False, "0")
# Errors raised while opening the connection (to the hub or through a proxy): nothing was sent.
_NEVER_CONNECTED = (NewConnectionError, ConnectTimeoutError, ProxyError)


@dataclass(frozen=True)
class RetryPolicy:
    """How a candidate is retried on 429, 5xx and refused connections.

    :param max_attempts: attempts per candidate, the first included.
    :param max_wait: cap of a single wait, ``Retry-After`` included, in seconds.
    :param max_total: bound of all attempts and waits for one candidate, in seconds.
    :param initial_wait: first exponential back-off wait, in seconds (jitter is added).
    """

    max_attempts: int = 5
    max_wait: float = 30.0
    max_total: float = 120.0
    initial_wait: float = 1.0


def _retry_after_seconds(response: urllib3.BaseHTTPResponse) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class _WaitRetryAfterOrBackoff:
    """Wait what the hub asked for in ``Retry-After``, else back off exponentially with jitter."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.backoff = wait_exponential_jitter(initial=policy.initial_wait, max=policy.max_wait)

    def __call__(self, retry_state: Any) -> float:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(error, HubError) and error.retry_after is not None:
            return min(error.retry_after, self.policy.max_wait)
        return float(self.backoff(retry_state))


def _short(text: str) -> str:
    return text if len(text) <= MAX_LOGGED_BODY else text[:MAX_LOGGED_BODY] + "..."


def encode_envelope(envelope: Mapping[str, Any]) -> bytes:
    """The request body of an envelope: compact JSON in UTF-8, non-ASCII text kept as it is."""
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class CandidateHubClient:
    """Sends candidate envelopes to the Candidate Hub.

    :param secret_key: the secret issued by Veritone Hire; only ever used to sign.
    :param base_url: the hub origin; ``/candidate`` is appended.
    :param signing_source_id: the source id signed into ``X-CHUB-SOURCE``; when None the envelope's
        ``transaction.source_id`` is used.
    :param connect_timeout: seconds to open a connection.
    :param read_timeout: seconds to wait for the reply to one candidate.
    :param retry: the retry policy for 429, 5xx and refused connections.
    :param pool_size: keep-alive connections kept open to the hub.
    """

    def __init__(
        self,
        *,
        secret_key: str,
        base_url: str | None = None,
        signing_source_id: str | None = None,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        pool_size: int = 10,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not secret_key:
            raise ValueError("the Candidate Hub secret key is empty")
        self._secret_key = secret_key
        self.url = (base_url or DEFAULT_HUB_URL).rstrip("/") + "/candidate"
        self.signing_source_id = signing_source_id or None
        self.timeout = (connect_timeout, read_timeout)
        self.retry = retry or RetryPolicy()
        self._clock = clock
        self._sleep = sleep
        self.transport = Transport(
            pool_size=pool_size, connect_timeout=connect_timeout, read_timeout=read_timeout
        )

    def __repr__(self) -> str:
        return f"CandidateHubClient(url={self.url!r}, signing_source_id={self.signing_source_id!r})"

    def close(self) -> None:
        self.transport.close()

    def send(self, envelope: Mapping[str, Any]) -> str:
        """Send one candidate envelope and return the hub's transaction id.

        Retries 429 (honouring ``Retry-After``), 5xx and refused connections with capped exponential
        back-off and jitter, signing every attempt afresh. Never retries 4xx, and never repeats an
        attempt whose outcome is unknown.

        :raises HubError: with ``retryable`` and ``ambiguous`` set as described on the class.
        """
        transaction = envelope.get("transaction")
        source_id = transaction.get("source_id") if isinstance(transaction, Mapping) else None
        return self.send_encoded(encode_envelope(envelope), source_id=str(source_id or ""))

    def send_encoded(self, body: bytes, *, source_id: str) -> str:
        """Send an envelope already encoded by :func:`encode_envelope`; as :meth:`send` otherwise.

        A run encodes each envelope once, as soon as it is prepared, and keeps only these bytes
        until the send: the envelope's objects (the base64 text of every document) are freed then.

        :param source_id: the envelope's ``transaction.source_id``, signed unless the client has a
            ``signing_source_id`` of its own.
        """
        source_id = self.signing_source_id or source_id
        if not source_id:
            raise HubError("no source id to sign the request with (transaction.source_id is empty)")

        retrying = Retrying(
            stop=stop_after_attempt(self.retry.max_attempts) | stop_after_delay(self.retry.max_total),
            wait=_WaitRetryAfterOrBackoff(self.retry),
            retry=retry_if_exception(lambda exc: isinstance(exc, HubError) and exc.retryable),
            sleep=self._sleep,
            reraise=True,
            before_sleep=self._log_retry,
        )
        return str(retrying(self._post_once, body, source_id))

    @staticmethod
    def _log_retry(retry_state: Any) -> None:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        log.warning(
            "Candidate Hub attempt %s failed (%s); retrying in %.1f s",
            retry_state.attempt_number,
            error,
            retry_state.upcoming_sleep,
        )

    def _post_once(self, body: bytes, source_id: str) -> str:
        headers = {"Content-Type": "application/json; charset=utf-8", "Accept": "application/json"}
        headers.update(signed_headers(self._secret_key, source_id, self._clock))
        try:
            response = self.transport.request("POST", self.url, body=body, headers=headers)
        except _NEVER_CONNECTED as exc:
            raise HubError(f"could not connect to the Candidate Hub: {exc}", retryable=True) from None
        except ReadTimeoutError:
            raise HubError(
                f"no reply from the Candidate Hub within {self.timeout[1]} s; the candidate may have "
                "been stored",
                ambiguous=True,
            ) from None
        except SSLError as exc:
            if _failed_handshake(exc):
                raise HubError(
                    f"the TLS handshake with the Candidate Hub failed, nothing was sent: {exc}"
                ) from None
            raise HubError(
                f"the connection to the Candidate Hub broke before its reply: SSLError: {exc}; the "
                "candidate may have been stored",
                ambiguous=True,
            ) from None
        except (LocationValueError, ValueError) as exc:
            detail = redact(str(exc), (self._secret_key,))
            raise HubError(f"request to the Candidate Hub could not be made: {detail}") from None
        except HTTPError as exc:
            # Anything else (a connection broken, a reply cut short) happened after the request left.
            raise HubError(
                f"the connection to the Candidate Hub broke before its reply: {type(exc).__name__}: {exc}; "
                "the candidate may have been stored",
                ambiguous=True,
            ) from None
        return self._check_reply(response, (self._secret_key, headers[SIGNATURE_HEADER]))

    def _check_reply(self, response: urllib3.BaseHTTPResponse, secrets: tuple[str, ...]) -> str:
        """The transaction id of a success, or a ``HubError`` whose texts hold no secret.

        A proxy or a verbose error page may echo the request headers; the secret and this
        request's signature (replayable for five minutes) are masked in whatever is kept.
        """
        status = response.status
        text = response.data.decode("utf-8", errors="replace")
        try:
            reply = json.loads(text)
        except ValueError:
            reply = None
        if not isinstance(reply, dict):
            text = _short(redact(text.strip(), secrets))
            raise _reply_error(
                response,
                f"Candidate Hub replied HTTP {status} with a body that is not a JSON object: {text!r}",
                error=None,
            )

        error_text = reply.get("error") or reply.get("message")
        error = _short(redact(str(error_text), secrets)) if error_text is not None else None
        if 200 <= status < 300 and reply.get("success") in SUCCESS_VALUES:
            transaction_id = reply.get("transaction_id") or reply.get("hub_transaction_id")
            if transaction_id:
                return str(transaction_id)
            raise HubError(
                f"Candidate Hub replied success without a transaction id (HTTP {status}); the candidate "
                "may have been stored",
                status=status,
                ambiguous=True,
            )
        if 200 <= status < 300 and reply.get("success") not in FAILURE_VALUES:
            # Neither a clear success nor a clear refusal: the candidate may have been stored.
            raise HubError(
                f"Candidate Hub replied HTTP {status} with an unknown success flag "
                f"{_short(redact(repr(reply.get('success')), secrets))}; the candidate may have been stored",
                status=status,
                ambiguous=True,
            )
        raise _reply_error(response, f"Candidate Hub refused the candidate: HTTP {status}: {error}", error)


def _reply_error(response: urllib3.BaseHTTPResponse, message: str, error: str | None) -> HubError:
    status = response.status
    return HubError(
        message,
        status=status,
        error=error,
        retryable=status in RETRYABLE_STATUSES,
        retry_after=_retry_after_seconds(response) if status == 429 else None,
    )


def _failed_handshake(exc: SSLError) -> bool:
    """True when the TLS error is the server's certificate refused, which happens before anything is
    sent; any other TLS error may come after the request left."""
    seen: set[int] = set()
    error: BaseException | None = exc
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, ssl.SSLCertVerificationError | CertificateError):
            return True
        nested = [arg for arg in error.args if isinstance(arg, BaseException)]
        error = nested[0] if nested else error.__cause__ or error.__context__
    return False

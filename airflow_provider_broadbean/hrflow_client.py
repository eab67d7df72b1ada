"""HrFlow.ai API access built on the ``hrflow`` SDK, with the timeouts and retries it lacks.

The SDK's transport calls module-level ``requests`` functions without a timeout. ``_BoundedHrflow``
routes them through one ``requests.Session`` whose adapter retries idempotent calls on connection
errors, 429 (honouring ``Retry-After``) and 5xx with capped exponential back-off, and every call
gets a connect and read timeout. :class:`HrFlowApi` adds what this provider needs on top: one
profile, a page walk that never yields a key twice, attachment downloads with a size limit (on a
urllib3 pool of their own, see :mod:`airflow_provider_broadbean.transport`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import requests
from hrflow import Hrflow
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.util.retry import Retry

from airflow_provider_broadbean.exceptions import AttachmentError, HrFlowError
from airflow_provider_broadbean.redaction import redact
from airflow_provider_broadbean.transport import MaskQueries, PooledSession, Transport

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.hrflow.ai/v1/"
DEFAULT_PAGE_SIZE = 100
DEFAULT_MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_WALKS = 3
MAX_REDIRECTS = 5
API_SECRET_FORM = re.compile(r"^ask[rw]?_[0-9a-f]{32}$")
_CHUNK = 64 * 1024


def normalise_api_url(api_url: str | None) -> str:
    """Return the API root with exactly one trailing slash (the SDK concatenates endpoint names)."""
    return (api_url or DEFAULT_API_URL).rstrip("/") + "/"


def build_retry(max_attempts: int, backoff: float = 0.5, max_backoff: float = 30.0) -> Retry:
    """Retry policy for idempotent GETs: connection errors, 429 and 5xx, honouring ``Retry-After``."""
    return Retry(
        total=max(0, max_attempts - 1),
        connect=max(0, max_attempts - 1),
        read=max(0, max_attempts - 1),
        status=max(0, max_attempts - 1),
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=frozenset({"GET", "HEAD"}),
        backoff_factor=backoff,
        backoff_max=max_backoff,
        backoff_jitter=backoff,
        respect_retry_after_header=True,
        raise_on_status=False,
    )


class _BoundedHrflow(Hrflow):
    """The SDK client with its transport routed through a session with timeouts and retries."""

    def __init__(self, *, session: requests.Session, timeout: tuple[float, float], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._session = session
        self._timeout = timeout

    def get(self, resource_endpoint: str, query_params: dict[str, Any] | None = None) -> requests.Response:
        url = self._create_request_url(resource_endpoint)
        params = self._validate_args(dict(query_params)) if query_params else None
        return self._session.get(url, headers=self.auth_header, params=params, timeout=self._timeout)

    def post(self, resource_endpoint: str, data: Any = None, json: Any = None, files: Any = None) -> Any:
        url = self._create_request_url(resource_endpoint)
        return self._session.post(
            url, headers=self.auth_header, data=data, json=json, files=files, timeout=self._timeout
        )

    def put(self, resource_endpoint: str, json: Any = None) -> requests.Response:
        url = self._create_request_url(resource_endpoint)
        return self._session.put(url, headers=self.auth_header, json=json, timeout=self._timeout)

    def patch(self, resource_endpoint: str, json: Any = None) -> requests.Response:
        url = self._create_request_url(resource_endpoint)
        return self._session.patch(url, headers=self.auth_header, json=json, timeout=self._timeout)


def _reply_text(reply: Any) -> str:
    if isinstance(reply, dict):
        return str(reply.get("message") or "no message")
    return repr(reply)[:200]


def _download_error(url: str, exc: Exception) -> AttachmentError:
    """The error of a failed download, every query masked: a pre-signed link's query is its
    signature, the link's own and that of any link it redirected to (urllib3 names the last)."""
    where, _, query = url.partition("?")
    detail = MaskQueries.mask(redact(str(exc), (query,)) if query else str(exc))
    return AttachmentError(f"downloading {where}: {type(exc).__name__}: {detail}")


class HrFlowApi:
    """The HrFlow calls this provider makes.

    :param api_secret: the API key (``X-API-KEY``).
    :param api_user: the email of the user the key belongs to (``X-USER-EMAIL``).
    :param api_url: the API root, ``https://api.hrflow.ai/v1/`` by default.
    :param timeout: connect and read timeout of every call, in seconds.
    :param max_attempts: attempts per call for connection errors, 429 and 5xx.
    """

    def __init__(
        self,
        *,
        api_secret: str,
        api_user: str,
        api_url: str | None = None,
        timeout: float = 30.0,
        max_attempts: int = 4,
        pool_size: int = 10,
    ) -> None:
        self.api_url = normalise_api_url(api_url)
        self._secrets = (api_secret,)
        self.timeout = (min(timeout, 10.0), timeout)
        self.session = PooledSession(pool_size=pool_size, max_retries=build_retry(max_attempts))
        self.transport = Transport(pool_size=pool_size, connect_timeout=self.timeout[0], read_timeout=timeout)
        self._download_retry = build_retry(max_attempts).new(
            total=max(0, max_attempts - 1) + MAX_REDIRECTS, redirect=MAX_REDIRECTS
        )
        self.client = _BoundedHrflow(
            session=self.session,
            timeout=self.timeout,
            api_url=self.api_url,
            api_secret=api_secret,
            api_user=api_user,
        )

    def __repr__(self) -> str:
        return f"HrFlowApi(api_url={self.api_url!r})"

    def close(self) -> None:
        self.session.close()
        self.transport.close()

    def _call(self, what: str, func: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Run one SDK call, turning transport failures and malformed replies into HrFlowError."""
        try:
            reply = func(*args, **kwargs)
        except requests.exceptions.RequestException as exc:
            detail = redact(str(exc), self._secrets)
            raise HrFlowError(
                f"{what}: HrFlow could not be reached: {type(exc).__name__}: {detail}"
            ) from None
        except (KeyError, ValueError, TypeError) as exc:
            detail = redact(str(exc), self._secrets)
            raise HrFlowError(f"{what}: unusable reply or argument: {type(exc).__name__}: {detail}") from None
        if not isinstance(reply, dict):
            raise HrFlowError(f"{what}: HrFlow replied with {type(reply).__name__}, not a JSON object")
        return reply

    def _fail(self, what: str, reply: dict[str, Any]) -> HrFlowError:
        code = reply.get("code")
        status = code if isinstance(code, int) else None
        hint = ""
        if status == 401:
            hint = " (check the API key and user email, and that the key can read this source)"
        elif status == 402:
            hint = " (HrFlow account over quota)"
        message = redact(_reply_text(reply), self._secrets)
        return HrFlowError(f"{what}: HrFlow answered {code}: {message}{hint}", status=status)

    def get_profile(
        self, source_key: str, profile_key: str | None = None, reference: str | None = None
    ) -> dict[str, Any] | None:
        """Return one profile, or None when HrFlow says it does not exist.

        :raises HrFlowError: bad credentials, no access, unknown source, or any other failure; the
            message names the source and the profile.
        """
        what = f"reading profile {profile_key or reference!r} of source {source_key!r}"
        reply = self._call(
            what, self.client.profile.storing.get, source_key=source_key, key=profile_key, reference=reference
        )
        code = reply.get("code")
        if code == 200 and isinstance(reply.get("data"), dict):
            return dict(reply["data"])
        message = redact(_reply_text(reply), self._secrets)
        if code == 400 and "unable to find object" in message.lower():
            if "source" in message.lower():
                raise HrFlowError(f"{what}: the source does not exist ({message})", status=400)
            return None
        raise self._fail(what, reply)

    def iter_profile_pages(
        self,
        source_key: str,
        *,
        sort_by: str = "created_at",
        order_by: str = "asc",
        created_at_min: str | None = None,
        created_at_max: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        return_profile: bool = True,
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield the profiles of a source page by page, each key once.

        With ``return_profile=False`` each item holds only ``key``, ``reference``, ``created_at`` and
        ``updated_at``: a cheap way to find what changed before reading profiles one by one.

        Pages are numbered from the start of the order, so a profile added or removed while the walk
        is under way shifts the pages behind it. Keys already yielded are skipped, and when the
        source's total changed during the walk it is walked again (at most three times in all) so
        a profile pushed onto an already-read page is still seen.

        .. note:: Editing profiles moves them in ``updated_at`` order without changing the total;
           walk ``updated_at`` newest first (``order_by="desc"``) so that an edit can only repeat a
           profile, never hide one.
        """
        if sort_by not in {"created_at", "updated_at"} or order_by not in {"asc", "desc"}:
            raise ValueError("sort_by must be created_at or updated_at, order_by asc or desc")
        seen: set[str] = set()
        for walk in range(1, MAX_WALKS + 1):
            first_total: int | None = None
            last_total: int | None = None
            page = 1
            while True:
                what = f"listing page {page} of source {source_key!r}"
                reply = self._call(
                    what,
                    self.client.profile.storing.list,
                    source_keys=[source_key],
                    return_profile=return_profile,
                    page=page,
                    limit=page_size,
                    order_by=order_by,
                    sort_by=sort_by,
                    created_at_min=created_at_min,
                    created_at_max=created_at_max,
                )
                if reply.get("code") != 200:
                    raise self._fail(what, reply)
                data = reply.get("data") or []
                meta = reply.get("meta")
                if not isinstance(meta, dict):
                    meta = {}
                total = meta.get("total")
                last_total = total if isinstance(total, int) else None
                if first_total is None:
                    first_total = last_total
                fresh = [p for p in data if isinstance(p, dict) and p.get("key") and p["key"] not in seen]
                seen.update(str(p["key"]) for p in fresh)
                if fresh:
                    yield fresh
                max_page = meta.get("maxPage")
                if not data or (isinstance(max_page, int) and page >= max_page) or len(data) < page_size:
                    break
                page += 1
            if first_total == last_total:
                return
            log.info(
                "Source %s changed during walk %s (total %s -> %s); walking again",
                source_key,
                walk,
                first_total,
                last_total,
            )

    def iter_profile_keys(
        self, source_key: str, *, sort_by: str = "updated_at", order_by: str = "desc", page_size: int = 100
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield pages of ``{key, reference, created_at, updated_at}`` of a source, each key once."""
        return self.iter_profile_pages(
            source_key, sort_by=sort_by, order_by=order_by, page_size=page_size, return_profile=False
        )

    def download(self, url: str, *, max_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES) -> bytes:
        """Download an attachment: a timeout, a size limit, and a non-2xx or empty body is an error.

        The attachment URLs are pre-signed storage links, so no HrFlow credentials are sent.
        """
        where = url.split("?", 1)[0]
        try:
            response = self.transport.request("GET", url, retries=self._download_retry, preload_content=False)
        except (Urllib3Error, ValueError) as exc:
            raise _download_error(url, exc) from None
        complete = False
        try:
            if not 200 <= response.status < 300:
                raise AttachmentError(f"downloading {where}: HTTP {response.status}", status=response.status)
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise AttachmentError(f"downloading {where}: {declared} bytes is over the {max_bytes} limit")
            chunks: list[bytes] = []
            size = 0
            for chunk in response.stream(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise AttachmentError(f"downloading {where}: more than the {max_bytes} bytes limit")
                chunks.append(chunk)
            complete = True
        except Urllib3Error as exc:
            raise _download_error(url, exc) from None
        finally:
            if not complete:  # a body left unread must not be read by the next request on the connection
                response.close()
            response.release_conn()
        content = b"".join(chunks)
        if not content:
            raise AttachmentError(f"downloading {where}: the file is empty")
        return content

    def check_auth(self) -> dict[str, Any]:
        """Check the key pair; return HrFlow's reply data."""
        what = "checking the API key pair"
        if not API_SECRET_FORM.match(self._secrets[0] or ""):
            raise HrFlowError(
                f"{what}: the API secret key must be ask_, askr_ or askw_ and 32 hexadecimal digits"
            )
        reply = self._call(what, self.client.auth.get)
        if reply.get("code") != 200:
            raise self._fail(what, reply)
        return reply

    def get_source(self, source_key: str) -> dict[str, Any]:
        """Return the source, which checks the key can read it."""
        what = f"reading source {source_key!r}"
        reply = self._call(what, self.client.source.get, key=source_key)
        if reply.get("code") != 200:
            raise self._fail(what, reply)
        return dict(reply.get("data") or {})

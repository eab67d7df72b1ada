"""HrFlow attachments to Broadbean documents.

Which attachments are sent:

- one CV (``type: "cv"``): the ``original`` attachment (the file as uploaded), else the
  ``resume`` one. Parsed profiles usually carry both, the same CV twice: only one is sent. When
  the chosen copy cannot be downloaded, the next copy (another URL) is tried.
- each ``cover`` attachment as a cover letter (``type: "coverletter"``).
- ``other`` attachments, and attachments without a ``public_url``, are not sent.

The files are downloaded by a *fetcher*, a function of one URL that returns the bytes or raises
:class:`~airflow_provider_broadbean.exceptions.AttachmentError`. :func:`default_format
<airflow_provider_broadbean.mapping.default_format>` takes a single argument so that users can
wrap it; the fetcher and the limits reach it through a context variable set with
:func:`use_document_options`. Without one, :func:`fetch_with_requests` is used.
"""

from __future__ import annotations

import base64
import functools
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import requests

from airflow_provider_broadbean.exceptions import AttachmentError, HrFlowError, MappingError
from airflow_provider_broadbean.models import Document

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_TIMEOUT",
    "CvPolicy",
    "DocumentOptions",
    "DocumentPlan",
    "Fetcher",
    "PlannedDocument",
    "attachment_filename",
    "build_documents",
    "current_document_options",
    "fetch_with_requests",
    "plan_documents",
    "use_document_options",
]

log = logging.getLogger(__name__)

Fetcher = Callable[[str], bytes]
"""Downloads one URL and returns its bytes, or raises ``AttachmentError``."""

CvPolicy = Literal["fail", "send_without"]

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
"""10 MiB: a CV or a cover letter above this size is not sent."""

DEFAULT_TIMEOUT = 30.0
"""Seconds allowed for one download, connection and reading included."""

_CHUNK_BYTES = 64 * 1024
_EXTENSION = re.compile(r"[A-Za-z0-9]{1,10}")
_HAS_EXTENSION = re.compile(r"[^.]\.[^.\s]{1,10}")


@dataclass(frozen=True)
class DocumentOptions:
    """How attachments are downloaded and what happens when they cannot be.

    :param fetcher: downloads a URL; None means :func:`fetch_with_requests` with ``timeout``
        and ``max_bytes``. A fetcher reports a failed download by raising ``AttachmentError``;
        ``OSError`` (which includes every ``requests`` error) and other ``HrFlowError`` are
        taken the same way. Any other exception is a bug or an interruption and propagates.
    :param max_bytes: largest file sent, in bytes (default 10 MiB). Checked on the bytes the
        fetcher returns too, so a custom fetcher cannot exceed it.
    :param timeout: seconds allowed for one download by the default fetcher (default 30).
    :param cv_policy: what to do with a profile whose CV cannot be downloaded or is too large.
        ``"fail"`` (default): the profile fails with ``MappingError(field="documents")``, so it
        counts as a format failure and a later run tries it again. ``"send_without"``: the
        candidate is sent without the CV and a warning names the profile and the reason.
    :param include_cover_letters: send ``cover`` attachments. A cover letter that cannot be
        downloaded is left out with a warning, whatever ``cv_policy`` says.
    """

    fetcher: Fetcher | None = None
    max_bytes: int = DEFAULT_MAX_BYTES
    timeout: float = DEFAULT_TIMEOUT
    cv_policy: CvPolicy = "fail"
    include_cover_letters: bool = True

    def __post_init__(self) -> None:
        if self.max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive, got {self.max_bytes}")
        if self.timeout <= 0:
            raise ValueError(f"timeout must be positive, got {self.timeout}")
        if self.cv_policy not in ("fail", "send_without"):
            raise ValueError(f"cv_policy must be 'fail' or 'send_without', got {self.cv_policy!r}")


_DEFAULT_OPTIONS = DocumentOptions()
_OPTIONS: ContextVar[DocumentOptions] = ContextVar(
    "airflow_provider_broadbean_document_options", default=_DEFAULT_OPTIONS
)


@contextmanager
def use_document_options(options: DocumentOptions) -> Iterator[DocumentOptions]:
    """Make ``options`` the document options of every mapping run inside the ``with`` block."""
    token = _OPTIONS.set(options)
    try:
        yield options
    finally:
        _OPTIONS.reset(token)


def current_document_options() -> DocumentOptions:
    """The document options in force: those of the innermost :func:`use_document_options`."""
    return _OPTIONS.get()


def _host(url: str) -> str:
    """The host of a URL, for messages: the path and query of a signed link stay out of logs."""
    try:
        return urlsplit(url).hostname or "<no host>"
    except ValueError:
        return "<bad url>"


def fetch_with_requests(
    url: str, *, max_bytes: int = DEFAULT_MAX_BYTES, timeout: float = DEFAULT_TIMEOUT
) -> bytes:
    """Download ``url`` with ``requests``: the default fetcher.

    The body is streamed and reading stops as soon as it passes ``max_bytes``; ``timeout``
    bounds the connection, each read and the whole download.

    :raises AttachmentError: on a non-2xx answer, an empty body, a body over ``max_bytes``, a
        timeout or a connection failure.
    """
    host = _host(url)
    deadline = time.monotonic() + timeout
    try:
        with requests.get(url, stream=True, timeout=timeout) as response:
            status = response.status_code
            if not 200 <= status < 300:
                raise AttachmentError(f"download from {host} answered HTTP {status}", status=status)
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise AttachmentError(f"file from {host} is over the {max_bytes} byte limit", status=status)

            body = bytearray()
            for chunk in response.iter_content(chunk_size=_CHUNK_BYTES):
                body += chunk
                if len(body) > max_bytes:
                    raise AttachmentError(
                        f"file from {host} is over the {max_bytes} byte limit", status=status
                    )
                if time.monotonic() > deadline:
                    raise AttachmentError(f"download from {host} took over {timeout} s", status=status)
    except (requests.RequestException, ValueError) as exc:
        # The type only: requests' messages repeat the URL, and a signed link is a credential.
        raise AttachmentError(f"download from {host} failed: {type(exc).__name__}") from exc

    if not body:
        raise AttachmentError(f"download from {host} returned an empty body", status=status)
    return bytes(body)


@dataclass(frozen=True)
class PlannedDocument:
    """An attachment chosen to be sent: its Broadbean type, file name and download URL."""

    type: Literal["cv", "coverletter"]
    filename: str
    url: str
    source_type: str


def _base_name(value: object) -> str | None:
    """The last path component of a file name, stripped; None when nothing usable is left.

    A name with lone surrogates (possible from JSON escapes) cannot be written as UTF-8, so it
    counts as no name.
    """
    if not isinstance(value, str):
        return None
    name = re.split(r"[/\\]", value.strip())[-1].strip()
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return name if name not in ("", ".", "..") else None


def _extension(value: object) -> str:
    """The ``extension`` field as ``.ext``; HrFlow writes it with or without the dot."""
    if not isinstance(value, str):
        return ""
    bare = value.strip().lstrip(".")
    return f".{bare}" if _EXTENSION.fullmatch(bare) else ""


def attachment_filename(attachment: Mapping[str, Any], default_stem: str) -> str:
    """The file name Broadbean receives for an attachment.

    ``original_file_name`` as uploaded, with the ``extension`` field added only when that name
    has no extension at all; else ``file_name`` plus the extension, unless it already ends with
    it. Directory parts are dropped. With no name at all, ``default_stem`` (``cv``,
    ``coverletter``) plus the extension. No extension is made up when the field gives none.
    """
    extension = _extension(attachment.get("extension"))
    original = _base_name(attachment.get("original_file_name"))
    if original is not None:
        if extension and not _HAS_EXTENSION.search(original):
            return original + extension
        return original
    stem = _base_name(attachment.get("file_name")) or default_stem
    if extension and not stem.casefold().endswith(extension.casefold()):
        return stem + extension
    return stem


@dataclass(frozen=True)
class DocumentPlan:
    """What :func:`plan_documents` chose from a profile's attachments.

    :param cv_copies: the CV copies in order of preference; only the first that downloads is sent.
    :param cover_letters: every cover letter, in the profile's order.
    :param without_url: the types (``original``, ``resume``, ``cover``) of attachments that would
        have been sent but have no ``public_url``.
    """

    cv_copies: list[PlannedDocument]
    cover_letters: list[PlannedDocument]
    without_url: list[str]


def plan_documents(attachments: object) -> DocumentPlan:
    """Choose what to download from a profile's ``attachments``, whatever its shape.

    The CV copies are the ``original`` attachments, then the ``resume`` ones; copies with the
    same URL appear once, and so do cover letters. ``other`` attachments and anything that is
    not an attachment object are skipped.
    """
    cv_copies: dict[str, list[PlannedDocument]] = {"original": [], "resume": []}
    cover_letters: list[PlannedDocument] = []
    without_url: list[str] = []
    seen: set[tuple[str, str]] = set()
    for attachment in attachments if isinstance(attachments, list) else []:
        kind = attachment.get("type") if isinstance(attachment, Mapping) else None
        if not isinstance(attachment, Mapping) or not isinstance(kind, str):
            continue
        kind = kind.strip().lower()
        if kind not in ("original", "resume", "cover"):
            continue
        url = attachment.get("public_url")
        if not isinstance(url, str) or not url.strip():
            without_url.append(kind)
            continue

        target: Literal["cv", "coverletter"] = "coverletter" if kind == "cover" else "cv"
        if (target, url.strip()) in seen:
            continue
        seen.add((target, url.strip()))
        planned = PlannedDocument(target, attachment_filename(attachment, target), url.strip(), kind)
        (cover_letters if kind == "cover" else cv_copies[kind]).append(planned)
    return DocumentPlan(cv_copies["original"] + cv_copies["resume"], cover_letters, without_url)


def _download(fetch: Fetcher, url: str, max_bytes: int) -> bytes:
    """Call the fetcher and check what it returns; every failure becomes ``AttachmentError``."""
    try:
        content = fetch(url)
    except AttachmentError:
        raise
    except HrFlowError as exc:
        raise AttachmentError(f"download failed: {exc}", status=exc.status) from exc
    except OSError as exc:
        # The type only: requests' messages repeat the URL, and a signed link is a credential.
        raise AttachmentError(f"download failed: {type(exc).__name__}") from exc
    if not isinstance(content, (bytes, bytearray, memoryview)):
        raise AttachmentError(f"the fetcher returned {type(content).__name__}, not bytes")
    content = bytes(content)
    if not content:
        raise AttachmentError("the file is empty")
    if len(content) > max_bytes:
        raise AttachmentError(f"the file is {len(content)} bytes, over the {max_bytes} byte limit")
    return content


_SIGNATURES = (
    (b"%PDF-", ".pdf"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", ".doc"),
    (b"PK\x03\x04", ".docx"),
    (b"{\\rtf", ".rtf"),
)


def sniffed_extension(content: bytes) -> str:
    """The extension a file's first bytes announce (PDF, Word, RTF), or ``""`` when unknown.

    ``PK`` archives are taken as ``.docx``, the usual zip-based CV format.
    """
    for magic, extension in _SIGNATURES:
        if content.startswith(magic):
            return extension
    return ""


def _as_document(planned: PlannedDocument, content: bytes) -> Document:
    """The Broadbean document: standard base64, padded, on one line.

    Broadbean expects a file name with an extension; when the attachment's fields gave none, the
    one the content itself announces is added (this reads the file, it invents nothing).
    """
    filename = planned.filename
    if not _HAS_EXTENSION.search(filename):
        filename += sniffed_extension(content)
    return Document(filename=filename, type=planned.type, content=base64.b64encode(content).decode("ascii"))


def _fetcher(options: DocumentOptions) -> Fetcher:
    """The fetcher of the options, else the default one with their limits."""
    if options.fetcher is not None:
        return options.fetcher
    return functools.partial(fetch_with_requests, max_bytes=options.max_bytes, timeout=options.timeout)


def build_documents(
    profile_key: str | None, attachments: object, options: DocumentOptions | None = None
) -> list[Document]:
    """Download the attachments chosen by :func:`plan_documents` and encode them.

    :param profile_key: the profile's key, for messages.
    :param attachments: the profile's ``attachments`` value, whatever its shape.
    :param options: defaults to :func:`current_document_options`.
    :raises MappingError: ``field="documents"`` when no copy of the CV can be downloaded and
        ``options.cv_policy`` is ``"fail"``.
    """
    options = options or current_document_options()
    fetch = _fetcher(options)
    plan = plan_documents(attachments)
    documents: list[Document] = []

    failures: list[str] = []
    for planned in plan.cv_copies:
        try:
            documents.append(_as_document(planned, _download(fetch, planned.url, options.max_bytes)))
            break
        except AttachmentError as exc:
            failures.append(f"{planned.source_type} {planned.filename}: {exc}")
    if failures and not documents:
        reason = "; ".join(failures)
        if options.cv_policy == "fail":
            raise MappingError(profile_key, "documents", f"the CV could not be downloaded ({reason})")
        log.warning("Profile %s is sent without its CV: %s", profile_key, reason)
    elif failures:
        log.info("Profile %s: CV taken from another copy after: %s", profile_key, "; ".join(failures))
    elif not plan.cv_copies and {"original", "resume"} & set(plan.without_url):
        # Nothing to download and nothing a later run could fix: send without it, visibly.
        log.warning("Profile %s is sent without its CV: the CV attachment has no public_url", profile_key)

    for planned in plan.cover_letters if options.include_cover_letters else []:
        try:
            documents.append(_as_document(planned, _download(fetch, planned.url, options.max_bytes)))
        except AttachmentError as exc:
            log.warning("Profile %s: cover letter %s left out: %s", profile_key, planned.filename, exc)
    if options.include_cover_letters and "cover" in plan.without_url:
        log.warning("Profile %s: a cover letter without public_url is left out", profile_key)
    return documents

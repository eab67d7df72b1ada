"""An emulator of the part of the HrFlow.ai API this provider uses (docs/protocols.md, section 2).

Routes, under ``/v1/``: ``auth``, ``source``, ``profile/indexing`` and ``storing/profiles``.
Attachment files are served at ``/_files/<name>`` (standing in for HrFlow's signed storage links)
and the test harness drives the emulator through ``/_sandbox/...`` or the Python methods.

Every API reply is ``{"code", "message", "data"}`` with ``Content-Type`` exactly
``application/json``, because the ``hrflow`` SDK 4.3.0 parses nothing else.
"""

from __future__ import annotations

import base64
import copy
import json
import mimetypes
import re
import secrets
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sandbox.config import (
    HOST,
    HRFLOW_API_SECRET,
    HRFLOW_API_USER,
    HRFLOW_OTHER_API_SECRET,
    HRFLOW_OTHER_API_USER,
    SEED_DIR,
    SOURCE_KEY,
    SOURCE_NAME,
)
from sandbox.faults import reason_phrase
from sandbox.http_base import ADMIN_PREFIX, BadFraming, BodyTooLarge, Exchange, Service, utc_now

API_PREFIX = "/v1/"
FILES_PREFIX = "/_files/"
FILES_PLACEHOLDER = "{files}"
HRFLOW_JSON = "application/json"
KEY_RE = re.compile(r"^[0-9a-f]{40}$")
MAX_LIMIT = 1000

_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_DATETIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?(Z|[+-]\d{2}:?\d{2})?$"
)

# A key pair with ``None`` reaches every source; otherwise only the listed source keys.
KeyPairs = Mapping[tuple[str, str], Iterable[str] | None]
DEFAULT_KEY_PAIRS: dict[tuple[str, str], frozenset[str] | None] = {
    (HRFLOW_API_SECRET, HRFLOW_API_USER): None,
    (HRFLOW_OTHER_API_SECRET, HRFLOW_OTHER_API_USER): frozenset(),
}


class HrFlowError(Exception):
    """An API failure, answered as ``{"code": status, "message": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def parse_instant(value: str, *, allow_naive: bool = False) -> datetime:
    """An aware UTC datetime from ``YYYY-MM-DD`` (midnight UTC) or ISO 8601 with an offset.

    Offsets may be written ``Z``, ``+00:00`` or ``+0000``. A datetime without an offset is refused
    unless ``allow_naive`` (then it is taken as UTC): a query filter must say which instant it means.
    """
    if not isinstance(value, str):
        raise ValueError("a date must be a string")
    day_match = _DATE_RE.match(value)
    if day_match:
        year, month, day = (int(part) for part in day_match.groups())
        return datetime(year, month, day, tzinfo=timezone.utc)
    match = _DATETIME_RE.match(value)
    if not match:
        raise ValueError(f"not a date or ISO 8601 datetime: {value!r}")
    *numbers, fraction, offset = match.groups()
    year, month, day, hour, minute, second = (int(part) for part in numbers)
    micro = int((fraction or ".0")[1:].ljust(6, "0"))
    if offset is None:
        if not allow_naive:
            raise ValueError(f"a datetime needs a UTC offset: {value!r}")
        tz = timezone.utc
    elif offset == "Z":
        tz = timezone.utc
    else:
        digits = offset[1:].replace(":", "")
        delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        tz = timezone(delta if offset[0] == "+" else -delta)
    moment = datetime(year, month, day, hour, minute, second, micro, tz)
    return moment.astimezone(timezone.utc)


def hrflow_time(moment: datetime) -> str:
    """HrFlow's timestamp form, ``2026-05-04T09:30:00+0000`` (microseconds only when present)."""
    moment = moment.astimezone(timezone.utc)
    pattern = "%Y-%m-%dT%H:%M:%S.%f%z" if moment.microsecond else "%Y-%m-%dT%H:%M:%S%z"
    return moment.strftime(pattern)


def _with_files_url(value: Any, files_url: str) -> Any:
    """A copy of ``value`` where strings starting with ``{files}`` point at this server's files."""
    if isinstance(value, str):
        return files_url + value[len(FILES_PLACEHOLDER) :] if value.startswith(FILES_PLACEHOLDER) else value
    if isinstance(value, list):
        return [_with_files_url(item, files_url) for item in value]
    if isinstance(value, dict):
        return {key: _with_files_url(item, files_url) for key, item in value.items()}
    return value


@dataclass
class StoredFile:
    """A file served under ``/_files/``, with the status it answers (403 emulates an expired link)."""

    body: bytes
    status: int = 200
    content_type: str = "application/pdf"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Entry:
    profile: dict[str, Any]
    created: datetime
    updated: datetime


class HrFlowApi(Service):
    """HrFlow.ai emulator: profiles per source, key pairs with per-source access, files, faults.

    :param seed_dir: folder with ``profiles/*.json`` (one profile per file) and ``files/*``;
        ``None`` starts empty.
    :param key_pairs: ``{(api_secret, api_user): source keys or None for all}``; defaults to the
        two pairs of :mod:`sandbox.config`.
    """

    name = "hrflow"
    json_type = HRFLOW_JSON

    def __init__(
        self, seed_dir: Path | str | None = SEED_DIR, *, key_pairs: KeyPairs | None = None, host: str = HOST
    ) -> None:
        super().__init__(host=host)
        self.seed_dir = Path(seed_dir) if seed_dir is not None else None
        pairs = DEFAULT_KEY_PAIRS if key_pairs is None else key_pairs
        self._key_pairs = {pair: None if keys is None else frozenset(keys) for pair, keys in pairs.items()}
        self._lock = threading.RLock()
        self._sources: dict[str, dict[str, Any]] = {}
        self._profiles: dict[str, dict[str, _Entry]] = {}
        self._files: dict[str, StoredFile] = {}
        self.load_seed()

    # -- URLs ------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The API root the client is given, ``http://127.0.0.1:PORT/v1/``."""
        return self.base_url + API_PREFIX

    @property
    def files_url(self) -> str:
        """Where attachment files are served, ``http://127.0.0.1:PORT/_files`` (no trailing slash)."""
        return self.base_url + FILES_PREFIX.rstrip("/")

    # -- state: sources, profiles, files -----------------------------------------------------------

    def load_seed(self) -> None:
        """Forget every source, profile and file, then load the seed folder again."""
        with self._lock:
            self._sources.clear()
            self._profiles.clear()
            self._files.clear()
            self.add_source(SOURCE_KEY, SOURCE_NAME)
            if self.seed_dir is None:
                return
            for path in sorted((self.seed_dir / "profiles").glob("*.json")):
                profile = json.loads(path.read_text(encoding="utf-8"))
                source = profile.get("source") or {}
                source_key = source.get("key") or SOURCE_KEY
                if source_key not in self._sources:
                    self.add_source(source_key, source.get("name") or f"Source {source_key[:8]}")
                self.put_profile(source_key, profile)
            files_dir = self.seed_dir / "files"
            if files_dir.is_dir():
                for path in sorted(files_dir.iterdir()):
                    if path.is_file():
                        self.put_file(path.name, path.read_bytes())

    def reset(self) -> None:
        """Reload the seed, clear the faults and the request log."""
        self.load_seed()
        self.clear_faults()
        self.clear_requests()

    def add_source(self, key: str, name: str) -> None:
        """Create (or rename) a source; the main key pair reaches every source."""
        if not KEY_RE.match(key):
            raise ValueError("a source key is 40 lowercase hex characters")
        now = hrflow_time(utc_now().replace(microsecond=0))
        with self._lock:
            existing = self._sources.get(key)
            created = existing["created_at"] if existing else now
            self._sources[key] = {"key": key, "name": name, "type": "api", "created_at": created}
            self._profiles.setdefault(key, {})

    def put_profile(self, source_key: str, profile: Mapping[str, Any]) -> dict[str, Any]:
        """Store a profile (replacing one with the same key) and return it as the API would.

        ``created_at`` is kept as given (tests backdate it; a datetime without offset is read as
        UTC) and defaults to now; ``updated_at`` is set to now unless given. A missing ``key`` is
        generated. ``source`` is set to the source the profile is stored in. Timestamps are stored
        in HrFlow's ``+0000`` form. Strings starting with ``{files}`` point at this server's files.
        """
        if not isinstance(profile, Mapping):
            raise TypeError("a profile must be a JSON object")
        stored = copy.deepcopy(dict(profile))
        key = stored.get("key") or secrets.token_hex(20)
        if not isinstance(key, str) or not KEY_RE.match(key):
            raise ValueError("a profile key is 40 lowercase hex characters")
        now = utc_now().replace(microsecond=0)
        created = parse_instant(stored["created_at"], allow_naive=True) if stored.get("created_at") else now
        updated = parse_instant(stored["updated_at"], allow_naive=True) if stored.get("updated_at") else now

        with self._lock:
            if source_key not in self._sources:
                self.add_source(source_key, f"Source {source_key[:8]}")
            source = self._sources[source_key]
            reference = stored.get("reference")
            for other in self._profiles[source_key].values():
                same_reference = reference is not None and other.profile.get("reference") == reference
                if same_reference and other.profile["key"] != key:
                    raise ValueError(f"reference {reference!r} is already used by another profile")
            given_source = stored.get("source")
            extra_source = given_source if isinstance(given_source, dict) else {}
            stored.update(
                key=key,
                reference=reference,
                created_at=hrflow_time(created),
                updated_at=hrflow_time(updated),
                source={**extra_source, "key": source_key, "name": source["name"]},
            )
            self._profiles[source_key][key] = _Entry(stored, created, updated)
            return self._render(stored)

    def remove_profile(self, source_key: str, key: str) -> bool:
        """Delete a profile; ``False`` when there was none."""
        with self._lock:
            return self._profiles.get(source_key, {}).pop(key, None) is not None

    def get_profile(self, source_key: str, key: str) -> dict[str, Any] | None:
        """One profile as the API would return it, or ``None``."""
        with self._lock:
            entry = self._profiles.get(source_key, {}).get(key)
            return self._render(entry.profile) if entry else None

    def profiles(self, source_key: str = SOURCE_KEY) -> list[dict[str, Any]]:
        """Every profile of a source, oldest ``created_at`` first."""
        with self._lock:
            entries = sorted(
                self._profiles.get(source_key, {}).values(), key=lambda e: (e.created, e.profile["key"])
            )
            return [self._render(entry.profile) for entry in entries]

    def put_file(
        self,
        name: str,
        body: bytes | str,
        status: int = 200,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> str:
        """Serve ``body`` at ``/_files/<name>`` with this status; returns the file's URL while running.

        ``content_type`` defaults to a guess from the name (``application/pdf`` for ``.pdf``).
        """
        if not name or "/" in name or name in (".", ".."):
            raise ValueError("a file name is one path segment")
        if content_type is None:
            content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
        with self._lock:
            self._files[name] = StoredFile(data, status, content_type, dict(headers or {}))
        return f"{FILES_PLACEHOLDER}/{name}" if not self.running else f"{self.files_url}/{name}"

    def remove_file(self, name: str) -> bool:
        """Stop serving a file; ``False`` when there was none."""
        with self._lock:
            return self._files.pop(name, None) is not None

    def _render(self, profile: dict[str, Any]) -> dict[str, Any]:
        files_url = self.files_url if self.running else FILES_PLACEHOLDER
        return _with_files_url(profile, files_url)

    # -- HTTP --------------------------------------------------------------------------------------

    def default_error_body(self, status: int) -> Any:
        return {"code": status, "message": reason_phrase(status)}

    def dispatch(self, exchange: Exchange) -> None:
        if exchange.path.startswith(ADMIN_PREFIX):
            self.dispatch_admin(exchange)
            return
        entry = self.request_log.add(
            method=exchange.method,
            path=exchange.path,
            query={name: values[0] for name, values in exchange.query.items()},
            user=exchange.headers.get("X-USER-EMAIL"),
            status=None,
            fault=None,
        )
        try:
            exchange.read_body(1024 * 1024)
            if exchange.path.startswith(FILES_PREFIX):
                self._serve_file(exchange)
                return
            exchange.pause(self.fault_plan.latency_s())
            fault = self.fault_plan.next_fault()
            if fault is not None:
                self.request_log.update(entry, fault=fault.label)
                if self.perform_fault(exchange, fault):
                    return
            self._serve_api(exchange)
        except (BadFraming, HrFlowError) as exc:
            self._reply(exchange, exc.status, {"code": exc.status, "message": exc.message})
        except BodyTooLarge:
            self._reply(exchange, 413, {"code": 413, "message": "Request entity too large"})
        finally:
            self.request_log.update(entry, status=exchange.status)

    def _reply(self, exchange: Exchange, status: int, value: Any) -> None:
        exchange.reply_json(status, value, HRFLOW_JSON)

    def _serve_file(self, exchange: Exchange) -> None:
        if exchange.method not in ("GET", "HEAD"):
            exchange.reply(405, b"", "application/xml", {"Allow": "GET, HEAD"})
            return
        with self._lock:
            stored = self._files.get(exchange.path[len(FILES_PREFIX) :])
        if stored is None:
            body = b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>NoSuchKey</Code></Error>"
            exchange.reply(404, body, "application/xml")
            return
        exchange.reply(stored.status, stored.body, stored.content_type, stored.headers)

    def _serve_api(self, exchange: Exchange) -> None:
        routes = {
            "auth": self._api_auth,
            "source": self._api_source,
            "profile/indexing": self._api_profile,
            "storing/profiles": self._api_list,
        }
        route = exchange.path[len(API_PREFIX) :] if exchange.path.startswith(API_PREFIX) else None
        handler = routes.get(route or "")
        if handler is None:
            raise HrFlowError(404, "Not found. No such endpoint")
        if exchange.method not in ("GET", "HEAD"):
            raise HrFlowError(405, "Method not allowed")
        pair = self._authenticate(exchange)
        data, message, meta = handler(exchange, pair)
        value: dict[str, Any] = {"code": 200, "message": message}
        if meta is not None:
            value["meta"] = meta
        value["data"] = data
        self._reply(exchange, 200, value)

    def _authenticate(self, exchange: Exchange) -> tuple[str, str]:
        pair = (exchange.headers.get("X-API-KEY") or "", exchange.headers.get("X-USER-EMAIL") or "")
        if pair not in self._key_pairs:
            # The real message names the key; the emulator never echoes a secret.
            raise HrFlowError(401, "Unauthorized. Invalid secret key: check X-API-KEY and X-USER-EMAIL")
        return pair

    def _source(self, pair: tuple[str, str], key: str | None) -> dict[str, Any]:
        if not key:
            raise HrFlowError(400, "Invalid parameters. A source key is required")
        with self._lock:
            source = self._sources.get(key)
        if source is None:
            raise HrFlowError(400, "Invalid parameters. Unable to find object: source")
        allowed = self._key_pairs[pair]
        if allowed is not None and key not in allowed:
            raise HrFlowError(401, "Unauthorized. You do not have access to this source")
        return source

    def _api_auth(self, exchange: Exchange, pair: tuple[str, str]) -> tuple[Any, str, Any]:
        scope = (
            "all sources"
            if self._key_pairs[pair] is None
            else f"{len(self._key_pairs[pair] or ())} source(s)"
        )
        permission = "write" if pair[0].startswith("askw_") else "read"
        return {"email": pair[1], "permission": permission, "access": scope}, "Authorized", None

    def _api_source(self, exchange: Exchange, pair: tuple[str, str]) -> tuple[Any, str, Any]:
        source = self._source(pair, exchange.param("key"))
        with self._lock:
            count = len(self._profiles.get(source["key"], {}))
        return {**source, "profiles_count": count}, "Source details", None

    def _api_profile(self, exchange: Exchange, pair: tuple[str, str]) -> tuple[Any, str, Any]:
        source = self._source(pair, exchange.param("source_key"))
        key, reference = exchange.param("key"), exchange.param("reference")
        if not key and not reference:
            raise HrFlowError(400, "Invalid parameters. A profile key or reference is required")
        with self._lock:
            entries = self._profiles.get(source["key"], {})
            if key:
                entry = entries.get(key)
                if entry is not None and reference and entry.profile.get("reference") != reference:
                    entry = None
            else:
                entry = next((e for e in entries.values() if e.profile.get("reference") == reference), None)
            if entry is None:
                raise HrFlowError(400, "Invalid parameters. Unable to find object: profile")
            return self._render(entry.profile), "Profile details", None

    def _api_list(self, exchange: Exchange, pair: tuple[str, str]) -> tuple[Any, str, Any]:
        raw_keys = exchange.param("source_keys")
        try:
            source_keys = json.loads(raw_keys) if raw_keys else None
        except json.JSONDecodeError:
            source_keys = None
        if (
            not isinstance(source_keys, list)
            or not source_keys
            or not all(isinstance(k, str) for k in source_keys)
        ):
            raise HrFlowError(400, "Invalid parameters. source_keys must be a JSON list of source keys")
        for source_key in source_keys:
            self._source(pair, source_key)

        page = _int_param(exchange, "page", 1, low=1)
        limit = _int_param(exchange, "limit", 30, low=1, high=MAX_LIMIT)
        order_by = exchange.param("order_by") or "desc"
        sort_by = exchange.param("sort_by") or "created_at"
        if order_by not in ("asc", "desc"):
            raise HrFlowError(400, "Invalid parameters. order_by must be asc or desc")
        if sort_by not in ("created_at", "updated_at"):
            raise HrFlowError(400, "Invalid parameters. sort_by must be created_at or updated_at")
        return_profile = _bool_param(exchange, "return_profile", default=False)
        low = _instant_param(exchange, "created_at_min")
        high = _instant_param(exchange, "created_at_max")
        key, reference = exchange.param("key"), exchange.param("reference")

        with self._lock:
            entries = [e for k in dict.fromkeys(source_keys) for e in self._profiles.get(k, {}).values()]
            entries = [
                e
                for e in entries
                if (low is None or e.created >= low)
                and (high is None or e.created <= high)
                and (not key or e.profile["key"] == key)
                and (not reference or e.profile.get("reference") == reference)
            ]
            # Ties on the timestamp are broken by key so that pages never overlap or skip.
            entries.sort(
                key=lambda e: (e.created if sort_by == "created_at" else e.updated, e.profile["key"]),
                reverse=order_by == "desc",
            )
            total = len(entries)
            chunk = entries[(page - 1) * limit : page * limit]
            if return_profile:
                data = [self._render(e.profile) for e in chunk]
            else:
                data = [
                    {name: e.profile.get(name) for name in ("key", "reference", "created_at", "updated_at")}
                    for e in chunk
                ]
        meta = {"page": page, "maxPage": -(-total // limit), "count": len(data), "total": total}
        return data, "List of profiles", meta

    # -- admin -------------------------------------------------------------------------------------

    def handle_admin(self, exchange: Exchange, route: str, body: Any) -> bool:
        method = exchange.method
        if route == "profiles" and method == "GET":
            source_key = exchange.param("source_key") or SOURCE_KEY
            listing = [
                {name: p.get(name) for name in ("key", "reference", "created_at", "updated_at")}
                for p in self.profiles(source_key)
            ]
            self.admin_reply(exchange, 200, listing)
        elif route == "profiles" and method == "POST":
            if not isinstance(body, dict):
                raise ValueError('expected {"source_key": ..., "profile": {...}} or "profiles": [...]')
            source_key = body.get("source_key") or SOURCE_KEY
            items = body["profiles"] if "profiles" in body else [body.get("profile")]
            if not isinstance(items, list):
                raise ValueError("profiles must be a list")
            keys = [self.put_profile(source_key, item)["key"] for item in items]
            self.admin_reply(exchange, 200, {"keys": keys})
        elif route == "profiles" and method == "DELETE":
            source_key = exchange.param("source_key") or SOURCE_KEY
            key = exchange.param("key")
            if not key:
                raise ValueError("key is required")
            self.admin_reply(exchange, 200, {"removed": self.remove_profile(source_key, key)})
        elif route == "sources" and method == "POST":
            if not isinstance(body, dict):
                raise ValueError('expected {"key": ..., "name": ...}')
            self.add_source(body["key"], body.get("name") or f"Source {body['key'][:8]}")
            self.admin_reply(exchange, 200, None)
        elif route == "files" and method == "POST":
            self._admin_put_file(exchange, body)
        elif route == "files" and method == "DELETE":
            self.admin_reply(exchange, 200, {"removed": self.remove_file(exchange.param("name") or "")})
        else:
            return False
        return True

    def _admin_put_file(self, exchange: Exchange, body: Any) -> None:
        if not isinstance(body, dict) or not isinstance(body.get("name"), str):
            raise ValueError('expected {"name": ..., "body" or "body_base64": ..., "status", "content_type"}')
        if "body_base64" in body:
            data: bytes | str = base64.b64decode(body["body_base64"], validate=True)
        else:
            data = body.get("body") or ""
            if not isinstance(data, str):
                raise ValueError("body must be a string (use body_base64 for bytes)")
        status = body.get("status", 200)
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            raise ValueError("status must be an HTTP status code")
        url = self.put_file(body["name"], data, status, body.get("content_type"), body.get("headers"))
        self.admin_reply(exchange, 200, {"url": url})


def _int_param(exchange: Exchange, name: str, default: int, *, low: int, high: int | None = None) -> int:
    raw = exchange.param(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or int(raw) < low or (high is not None and int(raw) > high):
        bounds = f">= {low}" if high is None else f"between {low} and {high}"
        raise HrFlowError(400, f"Invalid parameters. {name} must be an integer {bounds}")
    return int(raw)


def _bool_param(exchange: Exchange, name: str, *, default: bool) -> bool:
    raw = exchange.param(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise HrFlowError(400, f"Invalid parameters. {name} must be true or false")


def _instant_param(exchange: Exchange, name: str) -> datetime | None:
    raw = exchange.param(name)
    if raw is None or raw == "":
        return None
    try:
        return parse_instant(raw)
    except ValueError:
        raise HrFlowError(
            400, f"Invalid parameters. {name} must be YYYY-MM-DD or an ISO 8601 datetime with an offset"
        ) from None


__all__ = ["HrFlowApi", "HrFlowError", "StoredFile", "hrflow_time", "parse_instant"]

"""An emulator of Broadbean's Candidate Hub ``POST /candidate`` (docs/protocols.md, section 1).

The emulator is strict on purpose: it checks the signature headers and the payload as the protocol
page states them, so a client that passes here does not rely on a lenient stand-in. Order of the
checks for one request:

1. injected faults that a proxy in front of the hub would cause (5xx, 429, HTML, reset, hang);
2. route and method, then body size (413);
3. signature headers: missing or malformed (401), unknown source (403), stale or wrong (401);
4. the JSON payload (400), then the candidate is stored and answered, unless a
   ``drop_after_commit`` fault loses the reply after the store.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sandbox.config import HOST, HUB_MAX_BODY_BYTES, HUB_SECRET, HUB_SOURCES, SIGNATURE_WINDOW_S
from sandbox.faults import COMMIT, DROP_AFTER_COMMIT, HUB_ACTIONS, Fault, reason_phrase
from sandbox.http_base import ADMIN_PREFIX, BadFraming, BodyTooLarge, Exchange, Service, json_bytes

HUB_JSON = "application/json; charset=utf-8"
CANDIDATES_FILE = "candidates.jsonl"

REQUIRED_FIELDS = (
    ("transaction", "client_id"),
    ("transaction", "source_id"),
    ("candidate", "name"),
    ("candidate", "email"),
    ("context", "job_id"),
)
CONTEXT_KEYS = frozenset(
    {
        "job_id",
        "shortlist_id",
        "candidate_source_id",
        "candidate_source_name",
        "source_candidate_id",
        "subsource",
        "supplementary",
    }
)
DOCUMENT_TYPES = ("cv", "coverletter")
DATE_FIELDS = ("current_job_startdate", "current_job_enddate")
PLACEHOLDERS = frozenset({"undefined", "null", "none", "nan"})
_TIME_RE = re.compile(r"^[0-9]{1,12}$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")


def sign(secret: str, source: str, timestamp: int | str) -> str:
    """The Candidate Hub signature: lowercase hex HMAC-SHA256 of ``"<source>|<time>"``."""
    message = f"{source}|{timestamp}".encode()
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


class Rejected(Exception):
    """A request the hub refuses, answered as ``{"success": 0, "error": message}``."""

    def __init__(self, status: int, message: str, detail: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.detail = detail or message


def validate_payload(body: Any) -> None:
    """Raise :class:`Rejected` (400) for the first way the payload breaks the protocol."""
    if not isinstance(body, dict):
        raise Rejected(400, "body must be a JSON object")
    for section, name in REQUIRED_FIELDS:
        part = body.get(section)
        if part is None:
            raise Rejected(400, f"{name} is required")
        if not isinstance(part, dict):
            raise Rejected(400, f"{section} must be an object")
        value = part.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise Rejected(400, f"{name} is required")
        if not isinstance(value, str):
            raise Rejected(400, f"{name} must be a string")
    _validate_candidate(body["candidate"])
    _validate_context(body["context"])


def _validate_candidate(candidate: dict[str, Any]) -> None:
    for name, value in candidate.items():
        if name == "documents":
            continue
        if value is not None and not isinstance(value, str):
            raise Rejected(400, f"{name} must be a string")
        if isinstance(value, str) and value.strip().lower() in PLACEHOLDERS:
            raise Rejected(400, f"{name} holds placeholder text")
    for name in DATE_FIELDS:
        value = candidate.get(name)
        if value is not None and not _is_plain_datetime(value):
            raise Rejected(400, f"{name} must be YYYY-MM-DDTHH:MM:SS without a time zone")
    _validate_coordinates(candidate.get("location_latitude"), candidate.get("location_longitude"))

    documents = candidate.get("documents")
    if documents is None:
        return
    if not isinstance(documents, list):
        raise Rejected(400, "documents must be a list")
    for index, document in enumerate(documents):
        _validate_document(index, document)


def _is_plain_datetime(value: str) -> bool:
    if not _DATE_RE.match(value):
        return False
    try:
        datetime.strptime(value, "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return False
    return True


def _validate_coordinates(latitude: str | None, longitude: str | None) -> None:
    if latitude is None and longitude is None:
        return
    if latitude is None or longitude is None:
        raise Rejected(400, "location_latitude and location_longitude go together")
    try:
        lat, lng = float(latitude), float(longitude)
    except ValueError:
        raise Rejected(400, "location_latitude and location_longitude must be numbers") from None
    if not (math.isfinite(lat) and math.isfinite(lng) and -90 <= lat <= 90 and -180 <= lng <= 180):
        raise Rejected(400, "location_latitude and location_longitude are out of range")
    if lat == 0 and lng == 0:
        raise Rejected(400, "location 0,0 is not a real position")


def _validate_document(index: int, document: Any) -> None:
    where = f"documents[{index}]"
    if not isinstance(document, dict):
        raise Rejected(400, f"{where} must be an object")
    filename = document.get("filename")
    if not isinstance(filename, str) or not filename.strip():
        raise Rejected(400, f"{where}.filename is required")
    stem, dot, extension = filename.rpartition(".")
    if not dot or not stem or not extension or "/" in extension:
        raise Rejected(400, f"{where}.filename needs an extension")
    if document.get("type") not in DOCUMENT_TYPES:
        raise Rejected(400, f"{where}.type must be one of {', '.join(DOCUMENT_TYPES)}")
    content = document.get("content")
    if not isinstance(content, str) or not content:
        raise Rejected(400, f"{where}.content is required")
    if "\n" in content or "\r" in content:
        raise Rejected(400, f"{where}.content must be base64 without line breaks")
    try:
        decoded = base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        raise Rejected(400, f"{where}.content is not standard base64 with padding") from None
    if not decoded:
        raise Rejected(400, f"{where}.content is empty")


def _validate_context(context: dict[str, Any]) -> None:
    for name, value in context.items():
        if name not in CONTEXT_KEYS:
            raise Rejected(400, f"context.{name} is not a known key (put it under supplementary)")
        if value is None or value == "":
            raise Rejected(400, f"context.{name} must be omitted when unset")
    supplementary = context.get("supplementary")
    if supplementary is not None and not isinstance(supplementary, dict):
        raise Rejected(400, "context.supplementary must be an object")


def _is_json_request(content_type: str | None) -> bool:
    """``application/json``, optionally with ``charset=utf-8``."""
    if not content_type:
        return False
    media, *params = (part.strip().lower() for part in content_type.split(";"))
    if media != "application/json":
        return False
    for param in params:
        name, _, value = param.partition("=")
        if name.strip() == "charset" and value.strip().strip('"') not in ("utf-8", "utf8"):
            return False
    return True


def _as_logged_time(raw: str | None) -> int | str | None:
    """The signature time for the request log: an int when it is one, else the header as sent."""
    return int(raw) if raw is not None and _TIME_RE.match(raw) else raw


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _fill_transaction_id(value: Any, transaction_id: str) -> Any:
    if isinstance(value, str):
        return value.replace("{transaction_id}", transaction_id)
    if isinstance(value, list):
        return [_fill_transaction_id(item, transaction_id) for item in value]
    if isinstance(value, dict):
        return {k: _fill_transaction_id(v, transaction_id) for k, v in value.items()}
    return value


class CandidateHub(Service):
    """Candidate Hub emulator: signed ``POST /candidate``, strict payload checks, recorded candidates.

    :param secret: the signing secret shared with the client.
    :param sources: the source ids the hub knows; any other ``X-CHUB-SOURCE`` gets a 403.
    :param data_dir: when given, accepted candidates are appended to ``<data_dir>/candidates.jsonl``
        (and the ones already there are loaded, so a restarted hub remembers them).
    :param clock: seconds since the epoch, used to judge the signature time; inject a fixed clock
        to check the public test vector at its own time.
    :param max_body_bytes: bodies above this size get a 413.
    """

    name = "hub"
    json_type = HUB_JSON
    fault_actions = HUB_ACTIONS
    fault_fields = frozenset(Service.fault_fields | {"drop_after_commit_rate", "hang_after_commit_s"})

    def __init__(
        self,
        secret: str = HUB_SECRET,
        sources: Iterable[str] = HUB_SOURCES,
        *,
        data_dir: Path | str | None = None,
        clock: Callable[[], float] = time.time,
        max_body_bytes: int = HUB_MAX_BODY_BYTES,
        host: str = HOST,
    ) -> None:
        super().__init__(host=host)
        self.secret = secret
        self.sources = frozenset(sources)
        self.clock = clock
        self.max_body_bytes = max_body_bytes
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self._lock = threading.Lock()
        self._accepted: list[dict[str, Any]] = []
        self._counter = 0
        if self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self._load()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``; the client appends ``/candidate``."""
        return self.base_url

    @property
    def candidates_file(self) -> Path | None:
        """Where accepted candidates are appended, if a data dir was given."""
        return self.data_dir / CANDIDATES_FILE if self.data_dir is not None else None

    # -- recorded candidates ---------------------------------------------------------------------

    def accepted(self) -> list[dict[str, Any]]:
        """Every accepted candidate: ``{transaction_id, received_at, signature_time, source, body}``."""
        with self._lock:
            return json.loads(json.dumps(self._accepted))

    def clear_candidates(self) -> None:
        """Forget accepted candidates, in memory and on disk."""
        with self._lock:
            self._accepted.clear()
            if self.candidates_file is not None:
                self.candidates_file.write_bytes(b"")

    def reset(self) -> None:
        """Forget candidates, the request log and the faults."""
        self.clear_candidates()
        self.clear_requests()
        self.clear_faults()

    def _load(self) -> None:
        path = self.candidates_file
        if path is None or not path.exists():
            return
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                self._accepted.append(record)
                number = str(record.get("transaction_id", "")).removeprefix("TX-")
                self._counter = max(
                    self._counter, int(number) if number.isascii() and number.isdigit() else 0
                )

    def _store(self, source: str, signature_time: int, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._counter += 1
            record = {
                "transaction_id": f"TX-{self._counter:06d}",
                "received_at": datetime.fromtimestamp(self.clock(), timezone.utc).isoformat(),
                "signature_time": signature_time,
                "source": source,
                "body": body,
            }
            self._accepted.append(record)
            if self.candidates_file is not None:
                with self.candidates_file.open("ab") as handle:
                    handle.write(json_bytes(record) + b"\n")
            return record

    # -- HTTP --------------------------------------------------------------------------------------

    def default_error_body(self, status: int) -> Any:
        if 200 <= status < 300:
            # A scripted success that stores nothing says so in its id.
            return {"success": 1, "transaction_id": "TX-UNSTORED"}
        return {"success": 0, "error": reason_phrase(status).lower()}

    def dispatch(self, exchange: Exchange) -> None:
        if exchange.path.startswith(ADMIN_PREFIX):
            self.dispatch_admin(exchange)
            return
        headers = exchange.headers
        entry = self.request_log.add(
            method=exchange.method,
            path=exchange.path,
            source=headers.get("X-CHUB-SOURCE"),
            signature_time=_as_logged_time(headers.get("X-CHUB-SIGNATURE-TIME")),
            status=None,
            outcome=None,
            error=None,
            fault=None,
            transaction_id=None,
            email=None,
        )
        outcome, error, transaction_id = "rejected", None, None
        try:
            try:
                raw = exchange.read_body(self.max_body_bytes)
                too_large = False
            except BodyTooLarge:
                raw, too_large = b"", True
            exchange.pause(self.fault_plan.latency_s())

            fault = self.fault_plan.next_fault()
            if fault is not None:
                self.request_log.update(entry, fault=fault.label)
                if self.perform_fault(exchange, fault):
                    outcome = "fault"
                    return

            record = self._accept(exchange, raw, too_large, entry)
            transaction_id, outcome = record["transaction_id"], "accepted"
            lost = self._answer_accepted(exchange, record, fault)
            if lost is not None:
                self.request_log.update(entry, fault=lost.label)
        except Rejected as exc:
            error = exc.detail
            exchange.reply_json(exc.status, {"success": 0, "error": exc.message}, HUB_JSON)
        except BadFraming as exc:
            error = exc.message
            exchange.reply_json(exc.status, {"success": 0, "error": exc.message}, HUB_JSON)
        finally:
            self.request_log.update(
                entry, status=exchange.status, outcome=outcome, error=error, transaction_id=transaction_id
            )

    def _accept(
        self, exchange: Exchange, raw: bytes, too_large: bool, entry: dict[str, Any]
    ) -> dict[str, Any]:
        """Every check of one request, then the store; raises :class:`Rejected`."""
        if exchange.path != "/candidate":
            raise Rejected(404, "not found")
        if exchange.method != "POST":
            raise Rejected(405, "method not allowed")
        if too_large:
            raise Rejected(413, f"request body is larger than {self.max_body_bytes} bytes")
        source, signature_time = self._check_signature(exchange)

        if not _is_json_request(exchange.headers.get("Content-Type")):
            raise Rejected(400, "body must be JSON (Content-Type: application/json)")
        try:
            body = json.loads(raw.decode("utf-8"), parse_constant=_no_constants)
        except UnicodeDecodeError:
            raise Rejected(400, "body is not valid UTF-8") from None
        except ValueError:
            raise Rejected(400, "body is not valid JSON") from None
        if isinstance(body, dict) and isinstance(body.get("candidate"), dict):
            self.request_log.update(entry, email=body["candidate"].get("email"))
        validate_payload(body)

        return self._store(source, signature_time, body)

    def _check_signature(self, exchange: Exchange) -> tuple[str, int]:
        headers = exchange.headers
        source = headers.get("X-CHUB-SOURCE")
        raw_time = headers.get("X-CHUB-SIGNATURE-TIME")
        signature = headers.get("X-CHUB-SIGNATURE")
        if not source or not raw_time or not signature:
            raise Rejected(401, "invalid signature", "a signature header is missing")
        if source not in self.sources:
            raise Rejected(403, f"unknown source {source[:100]}")
        if not _TIME_RE.match(raw_time):
            raise Rejected(401, "invalid signature", "the signature time is not whole seconds")
        drift = abs(self.clock() - int(raw_time))
        if drift > SIGNATURE_WINDOW_S:
            raise Rejected(401, "invalid signature", f"the signature time is {drift:.0f} s away")
        if not hmac.compare_digest(signature.encode(), sign(self.secret, source, raw_time).encode()):
            raise Rejected(401, "invalid signature", "the signature does not match")
        return source, int(raw_time)

    def _answer_accepted(
        self, exchange: Exchange, record: dict[str, Any], fault: Fault | None
    ) -> Fault | None:
        """Answer a stored candidate as a fault may ask; returns the fault when the reply was lost."""
        transaction_id = record["transaction_id"]
        if fault is None:
            fault = self.fault_plan.draw_drop_after_commit()
        if fault is not None and fault.action == DROP_AFTER_COMMIT:
            if fault.hang_s:
                exchange.hang(fault.hang_s)
            else:
                exchange.drop()
            return fault
        if fault is not None and fault.action == COMMIT and (fault.status or fault.body is not None):
            status = fault.status or 200
            body = _fill_transaction_id(fault.body, transaction_id)
            if body is None:
                body = {"success": 1, "transaction_id": transaction_id}
            data = body.encode("utf-8") if isinstance(body, str) else json_bytes(body)
            exchange.reply(status, data, fault.content_type or HUB_JSON, fault.headers)
            return None
        headers = fault.headers if fault is not None and fault.action == COMMIT else None
        exchange.reply_json(200, {"success": 1, "transaction_id": transaction_id}, HUB_JSON, headers)
        return None

    # -- admin -------------------------------------------------------------------------------------

    def handle_admin(self, exchange: Exchange, route: str, body: Any) -> bool:
        if route == "candidates" and exchange.method == "GET":
            self.admin_reply(exchange, 200, self.accepted())
        elif route == "candidates" and exchange.method == "DELETE":
            self.clear_candidates()
            self.admin_reply(exchange, 200, None)
        else:
            return False
        return True


def signed_headers(
    secret: str, source: str, timestamp: int | None = None, clock: Callable[[], float] = time.time
) -> Mapping[str, str]:
    """The three signature headers for a request signed now (or at ``timestamp``); for tests."""
    moment = int(clock()) if timestamp is None else timestamp
    return {
        "X-CHUB-SIGNATURE-TIME": str(moment),
        "X-CHUB-SOURCE": source,
        "X-CHUB-SIGNATURE": sign(secret, source, moment),
    }

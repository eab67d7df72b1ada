"""Fault injection shared by the two emulators: random faults and a scripted queue of replies.

A client is only as good as its handling of bad days, so each emulator can be told to answer
slowly, with a 5xx, a 429, an HTML page, a hang, a connection reset, or (the hub only) to drop
the connection after storing a candidate. Faults come from two places, checked in this order
for every non-admin request:

1. the scripted queue: the next request takes the first item, whatever the item says;
2. the random rates, drawn from a seedable ``random.Random`` (one draw per request, so the
   rates add up and must not exceed 1).

A :class:`FaultPlan` only decides; the emulator carries the decision out, because the default
reply body and what "commit" means differ between HrFlow and the hub.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from http import HTTPStatus
from typing import Any

# Actions every emulator understands.
REPLY = "reply"  # send the given status, headers, content type and body instead of the real reply
PASS = "pass"  # handle the request normally, without random faults
RESET = "reset"  # close the connection with a TCP reset (the client sees ECONNRESET)
DROP = "drop"  # close the connection without a reply
HANG = "hang"  # keep the connection silent for ``hang_s`` seconds, then close it
# Hub-only actions.
COMMIT = "commit"  # handle normally (store if valid), optionally overriding the success reply
DROP_AFTER_COMMIT = "drop_after_commit"  # handle normally; if stored, close (or hang) without reply

COMMON_ACTIONS = frozenset({REPLY, PASS, RESET, DROP, HANG})
HUB_ACTIONS = COMMON_ACTIONS | {COMMIT, DROP_AFTER_COMMIT}

HTML_ERROR_PAGE = "<html><body><h1>{status} {reason}</h1><p>sandbox fault</p></body></html>"
HTML_MAINTENANCE_PAGE = "<html><head><title>Maintenance</title></head><body>Back soon.</body></html>"

_SCRIPT_KEYS = frozenset({"action", "status", "headers", "content_type", "body", "delay_ms", "hang_s"})


@dataclass
class FaultSettings:
    """Random fault rates and their parameters; every field defaults to "no fault"."""

    latency_ms: float = 0.0
    error_rate: float = 0.0
    error_status: int = 503
    error_html: bool = False
    rate_limit_rate: float = 0.0
    retry_after: int | None = None
    html_rate: float = 0.0
    html_status: int = 200
    hang_rate: float = 0.0
    hang_s: float = 30.0
    reset_rate: float = 0.0
    drop_after_commit_rate: float = 0.0
    hang_after_commit_s: float | None = None
    seed: int | None = None


HUB_ONLY_FIELDS = frozenset({"drop_after_commit_rate", "hang_after_commit_s"})
ALL_FIELDS = frozenset(f.name for f in fields(FaultSettings))


@dataclass(frozen=True)
class Fault:
    """What to do with one request.

    ``body`` is ``None`` for "the emulator's usual error body for this status", a ``str`` sent
    as it is, or any other JSON value, sent JSON-encoded.
    """

    action: str
    origin: str
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None
    body: Any = None
    delay_ms: float = 0.0
    hang_s: float | None = None

    @property
    def label(self) -> str:
        """A short name for request logs, such as ``script:reply`` or ``random:reset``."""
        return f"{self.origin}:{self.action}"


def reason_phrase(status: int) -> str:
    """The standard reason phrase of a status, or a generic one for codes Python does not name."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _rate(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a number between 0 and 1")
    return float(value)


def _seconds(name: str, value: Any, *, allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"{name} must be a number >= 0")
    return float(value)


def _status(name: str, value: Any, low: int = 100, high: int = 599) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer between {low} and {high}")
    return value


def parse_settings(raw: Mapping[str, Any], allowed: frozenset[str]) -> FaultSettings:
    """Check a settings mapping (Python keywords or the admin JSON body) and build the settings."""
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise ValueError(f"unknown fault setting(s): {', '.join(unknown)}")

    settings = FaultSettings()
    for name in ("error_rate", "rate_limit_rate", "html_rate", "hang_rate", "reset_rate"):
        if name in raw:
            setattr(settings, name, _rate(name, raw[name]))
    if "drop_after_commit_rate" in raw:
        settings.drop_after_commit_rate = _rate("drop_after_commit_rate", raw["drop_after_commit_rate"])
    if "latency_ms" in raw:
        settings.latency_ms = _seconds("latency_ms", raw["latency_ms"]) or 0.0
    if "hang_s" in raw:
        settings.hang_s = _seconds("hang_s", raw["hang_s"]) or 0.0
    if "hang_after_commit_s" in raw:
        settings.hang_after_commit_s = _seconds(
            "hang_after_commit_s", raw["hang_after_commit_s"], allow_none=True
        )
    if "error_status" in raw:
        settings.error_status = _status("error_status", raw["error_status"], 500, 599)
    if "html_status" in raw:
        settings.html_status = _status("html_status", raw["html_status"])
    if "error_html" in raw:
        if not isinstance(raw["error_html"], bool):
            raise ValueError("error_html must be true or false")
        settings.error_html = raw["error_html"]
    if "retry_after" in raw:
        value = raw["retry_after"]
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise ValueError("retry_after must be null or an integer >= 0 (seconds)")
        settings.retry_after = value
    if "seed" in raw:
        value = raw["seed"]
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValueError("seed must be null or an integer")
        settings.seed = value

    total = (
        settings.reset_rate
        + settings.error_rate
        + settings.rate_limit_rate
        + settings.html_rate
        + settings.hang_rate
    )
    if total > 1.0 + 1e-9:
        raise ValueError("reset_rate + error_rate + rate_limit_rate + html_rate + hang_rate must be <= 1")
    return settings


def parse_scripted(raw: Any, actions: frozenset[str]) -> Fault:
    """Check one scripted reply and turn it into a :class:`Fault`."""
    if not isinstance(raw, Mapping):
        raise ValueError("each scripted reply must be a JSON object")
    unknown = sorted(set(raw) - _SCRIPT_KEYS)
    if unknown:
        raise ValueError(f"unknown scripted reply key(s): {', '.join(unknown)}")

    action = raw.get("action", REPLY)
    if action not in actions:
        raise ValueError(f"action must be one of {', '.join(sorted(actions))}")
    status = raw.get("status")
    if action == REPLY and status is None:
        raise ValueError("a scripted reply needs a status")
    if status is not None:
        status = _status("status", status)
    headers = raw.get("headers") or {}
    if not isinstance(headers, Mapping) or not all(
        isinstance(k, str) and isinstance(v, (str, int)) for k, v in headers.items()
    ):
        raise ValueError("headers must be an object of strings")
    content_type = raw.get("content_type")
    if content_type is not None and not isinstance(content_type, str):
        raise ValueError("content_type must be a string")
    hang_s = _seconds("hang_s", raw.get("hang_s"), allow_none=True)
    if action == HANG and hang_s is None:
        hang_s = FaultSettings.hang_s

    return Fault(
        action=action,
        origin="script",
        status=status,
        headers={k: str(v) for k, v in headers.items()},
        content_type=content_type,
        body=raw.get("body"),
        delay_ms=_seconds("delay_ms", raw.get("delay_ms", 0)) or 0.0,
        hang_s=hang_s,
    )


class FaultPlan:
    """The current faults of one emulator, safe to use from many request threads."""

    def __init__(self, *, actions: frozenset[str], allowed_fields: frozenset[str]) -> None:
        self._actions = actions
        self._allowed = allowed_fields | {"script"}
        self._lock = threading.Lock()
        self._settings = FaultSettings()
        self._rng = random.Random()
        self._script: deque[Fault] = deque()

    def configure(self, raw: Mapping[str, Any]) -> None:
        """Replace every setting and the scripted queue; omitted settings fall back to "no fault"."""
        unknown = sorted(set(raw) - self._allowed)
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(unknown)}")
        settings = parse_settings({k: v for k, v in raw.items() if k != "script"}, self._allowed)
        script = self._parse_script(raw.get("script") or [])
        with self._lock:
            self._settings = settings
            self._rng = random.Random(settings.seed)
            self._script = deque(script)

    def enqueue(self, raw_items: Iterable[Any]) -> int:
        """Append scripted replies to the queue; returns how many are now waiting."""
        script = self._parse_script(list(raw_items))
        with self._lock:
            self._script.extend(script)
            return len(self._script)

    def clear(self) -> None:
        """Back to no faults at all."""
        with self._lock:
            self._settings = FaultSettings()
            self._rng = random.Random()
            self._script.clear()

    def snapshot(self) -> dict[str, Any]:
        """The settings in force and the number of scripted replies still queued."""
        with self._lock:
            settings = {k: v for k, v in asdict(self._settings).items() if k in self._allowed}
            return {"settings": settings, "script_remaining": len(self._script)}

    def latency_s(self) -> float:
        """Delay added before every non-admin request is handled."""
        with self._lock:
            return self._settings.latency_ms / 1000.0

    def next_fault(self) -> Fault | None:
        """Decide the fate of one request: a scripted item if queued, else maybe a random fault."""
        with self._lock:
            if self._script:
                return self._script.popleft()
            s = self._settings
            draw = self._rng.random()

        for rate, make in (
            (s.reset_rate, lambda: Fault(action=RESET, origin="random")),
            (s.error_rate, lambda: self._random_error(s)),
            (s.rate_limit_rate, lambda: self._random_rate_limit(s)),
            (s.html_rate, lambda: self._random_html(s)),
            (s.hang_rate, lambda: Fault(action=HANG, origin="random", hang_s=s.hang_s)),
        ):
            if draw < rate:
                return make()
            draw -= rate
        return None

    def draw_drop_after_commit(self) -> Fault | None:
        """After a successful store: whether to lose the reply (``drop_after_commit_rate``)."""
        with self._lock:
            s = self._settings
            if s.drop_after_commit_rate <= 0.0 or self._rng.random() >= s.drop_after_commit_rate:
                return None
        return Fault(action=DROP_AFTER_COMMIT, origin="random", hang_s=s.hang_after_commit_s)

    def _parse_script(self, items: Any) -> list[Fault]:
        if not isinstance(items, list):
            raise ValueError("script must be a list of scripted replies")
        return [parse_scripted(item, self._actions) for item in items]

    @staticmethod
    def _random_error(s: FaultSettings) -> Fault:
        if s.error_html:
            return Fault(
                action=REPLY,
                origin="random",
                status=s.error_status,
                content_type="text/html",
                body=HTML_ERROR_PAGE.format(status=s.error_status, reason=reason_phrase(s.error_status)),
            )
        return Fault(action=REPLY, origin="random", status=s.error_status)

    @staticmethod
    def _random_rate_limit(s: FaultSettings) -> Fault:
        headers = {} if s.retry_after is None else {"Retry-After": str(s.retry_after)}
        return Fault(action=REPLY, origin="random", status=429, headers=headers)

    @staticmethod
    def _random_html(s: FaultSettings) -> Fault:
        return Fault(
            action=REPLY,
            origin="random",
            status=s.html_status,
            content_type="text/html",
            body=HTML_MAINTENANCE_PAGE,
        )

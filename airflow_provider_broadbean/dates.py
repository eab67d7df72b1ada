"""HrFlow dates to Broadbean dates.

HrFlow writes the same instant in several ways: ``2018-01-01T00:00:00``, with an offset
(``+0000``, ``+00:00``, ``Z``), date-only ``2018-01-01``, or wrapped in an object
``{"iso8601": "...", "timestamp": ...}``. Broadbean wants ``YYYY-MM-DDTHH:MM:SS`` without a
zone. Parsing is done here by hand rather than with ``datetime.fromisoformat`` because Python
3.10 reads neither ``Z`` nor ``+0000``.

Aware values are converted to UTC. Naive values are taken as written, that is as UTC: the
worker's local time zone is never consulted, so the result does not depend on ``TZ``.

``1969-12-31T23:59:59`` is an old HrFlow marker for "no date" (one second before the Unix
epoch); :func:`to_broadbean_date` reads it as no date at all.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone

__all__ = ["is_no_date_marker", "parse_hrflow_datetime", "to_broadbean_date"]

_ISO_DATETIME = re.compile(
    r"""
    (?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})
    (?:
        [T\x20](?P<hour>\d{2}):(?P<minute>\d{2})
        (?::(?P<second>\d{2})(?:[.,](?P<fraction>\d+))?)?
    )?
    \s*
    (?P<zone>Z|z|[+-]\d{2}(?::?\d{2})?)?
    """,
    re.VERBOSE | re.ASCII,
)

_MARKER_WALL_CLOCK = datetime(1969, 12, 31, 23, 59, 59)
_MARKER_INSTANT = datetime(1969, 12, 31, 23, 59, 59, tzinfo=timezone.utc)


def _parse_zone(zone: str | None) -> timezone | None:
    """The fixed offset written after a date, or None when the value is naive."""
    if zone is None:
        return None
    if zone in ("Z", "z"):
        return timezone.utc
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 23 or minutes > 59:
        raise ValueError("offset out of range")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _parse_wall_clock(text: str) -> tuple[datetime, timezone | None] | None:
    """Split an ISO 8601 text into its wall-clock time and its offset (None when naive)."""
    match = _ISO_DATETIME.fullmatch(text.strip())
    if match is None:
        return None
    parts = match.groupdict()
    try:
        wall_clock = datetime(
            int(parts["year"]),
            int(parts["month"]),
            int(parts["day"]),
            int(parts["hour"] or 0),
            int(parts["minute"] or 0),
            int(parts["second"] or 0),
        )
        return wall_clock, _parse_zone(parts["zone"])
    except ValueError:
        return None


def _iso_text(value: object) -> str | None:
    """The text of a date written as text or as HrFlow's ``{"iso8601": ...}`` object."""
    if isinstance(value, Mapping):
        value = value.get("iso8601")
    return value if isinstance(value, str) and value.strip() else None


def _from_timestamp(value: object) -> datetime | None:
    """The UTC instant of a Unix timestamp, as found beside ``iso8601`` in HrFlow's objects."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    try:
        return datetime.fromtimestamp(int(value), tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def _to_utc(wall_clock: datetime, zone: timezone | None) -> datetime | None:
    """The aware UTC instant; naive values are read as UTC. None when it leaves years 1-9999."""
    if zone is None:
        return wall_clock.replace(tzinfo=timezone.utc)
    try:
        return wall_clock.replace(tzinfo=zone).astimezone(timezone.utc)
    except OverflowError:
        return None


def parse_hrflow_datetime(value: object) -> datetime | None:
    """Parse any date form HrFlow emits into an aware UTC ``datetime``; None when unreadable.

    Accepts ISO 8601 text (with or without time, fraction and offset), HrFlow's
    ``{"iso8601": ..., "timestamp": ...}`` object (the timestamp only when ``iso8601`` is
    empty), and ``datetime``/``date`` objects. A bare number is not read as a date: in a date
    slot it is junk more often than a timestamp. Naive values are read as UTC, never in the
    local zone. Fractions of a second are dropped, since Broadbean carries whole seconds. The
    ``1969-12-31T23:59:59`` marker is returned as that instant: use :func:`is_no_date_marker`
    or :func:`to_broadbean_date` where it means "no date".
    """
    if isinstance(value, datetime):
        offset = value.utcoffset()
        zone = None if offset is None else timezone(offset)
        return _to_utc(value.replace(microsecond=0, tzinfo=None), zone)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    text = _iso_text(value)
    if text is None:
        return _from_timestamp(value.get("timestamp")) if isinstance(value, Mapping) else None
    parsed = _parse_wall_clock(text)
    return None if parsed is None else _to_utc(*parsed)


def is_no_date_marker(value: object) -> bool:
    """True when the value is HrFlow's ``1969-12-31T23:59:59`` "no date" marker.

    The marker counts whatever offset is written after it, and also when it is written as the
    same instant in another zone (``1970-01-01T00:59:59+01:00``).
    """
    text = _iso_text(value)
    parsed = None if text is None else _parse_wall_clock(text)
    if parsed is not None and parsed[0] == _MARKER_WALL_CLOCK:
        return True
    return parse_hrflow_datetime(value) == _MARKER_INSTANT


def to_broadbean_date(value: object) -> str | None:
    """An HrFlow date as Broadbean's ``YYYY-MM-DDTHH:MM:SS`` (UTC); None when unknown.

    None for null, empty, unreadable values and for the ``1969-12-31T23:59:59`` marker.
    """
    if is_no_date_marker(value):
        return None
    parsed = parse_hrflow_datetime(value)
    if parsed is None:
        return None
    # isoformat rather than strftime: strftime("%Y") does not pad years below 1000 on Linux.
    return parsed.replace(tzinfo=None).isoformat(timespec="seconds")

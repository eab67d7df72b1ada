"""The default mapping ("format") of an HrFlow profile to a Broadbean candidate.

:func:`default_format` is a plain function of one profile so that a custom format can start
from it::

    from airflow_provider_broadbean.mapping import default_format

    def my_format(profile: dict) -> dict:
        candidate = default_format(profile)
        candidate["current_job_title"] = "Engineer"
        return candidate

Rules shared by every field: a value that is missing, null, empty, not of the expected JSON type,
or one of the placeholder words HrFlow or its users write for "unknown" (``Undefined``, ``null``,
``None``, ``N/A``, any case) is unknown, and an unknown value is left out of the candidate.
Nothing is made up. Text keeps its characters as received; only surrounding white space is
removed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Literal

from pydantic import ValidationError

from airflow_provider_broadbean.countries import to_iso_alpha2
from airflow_provider_broadbean.dates import is_no_date_marker, parse_hrflow_datetime, to_broadbean_date
from airflow_provider_broadbean.documents import build_documents
from airflow_provider_broadbean.exceptions import MappingError
from airflow_provider_broadbean.models import Candidate, is_email

__all__ = ["PLACEHOLDERS", "default_format", "select_current_job"]

PLACEHOLDERS = frozenset({"undefined", "null", "none", "n/a", "nan"})
"""Text read as "unknown" wherever it appears, compared without case."""

_EARLIEST = datetime.min.replace(tzinfo=timezone.utc)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""Control characters (tabs and line breaks aside): junk in a name, a phone or an address."""


def _text(value: object) -> str | None:
    """Stripped text, or None when it is not text, is empty, is a placeholder or is not Unicode.

    Text with lone surrogates (possible from JSON ``\\ud800`` escapes) cannot be written as
    UTF-8, so the request body could not be sent: it is treated as unknown.
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or text.casefold() in PLACEHOLDERS or _CONTROL.search(text):
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return text


def _text_or_integer(value: object) -> str | None:
    """Like :func:`_text`, but a JSON integer counts as text too (postcodes, house numbers).

    Integers of more than 15 digits are junk in these slots and are left out.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value) if abs(value) < 10**15 else None
    return _text(value)


def _object(value: object) -> Mapping[str, Any]:
    """The value when it is a JSON object, else an empty one."""
    return value if isinstance(value, Mapping) else {}


def _names(profile_key: str | None, info: Mapping[str, Any]) -> dict[str, str | None]:
    """``name`` (required), ``first_name`` and ``last_name``."""
    first_name, last_name = _text(info.get("first_name")), _text(info.get("last_name"))
    name = _text(info.get("full_name")) or " ".join(part for part in (first_name, last_name) if part)
    if not name:
        raise MappingError(profile_key, "name", "the profile has no full_name, first_name or last_name")
    return {"name": name, "first_name": first_name, "last_name": last_name}


def _email(profile_key: str | None, info: Mapping[str, Any]) -> str:
    """The trimmed address, or ``MappingError`` on ``email``: Broadbean requires one."""
    email = _text(info.get("email"))
    if email is None:
        raise MappingError(profile_key, "email", "the profile has no email address")
    if not is_email(email):
        # The address itself stays out of the message: it is personal data and it is wrong.
        raise MappingError(profile_key, "email", "info.email is not a valid email address")
    return email


def _coordinate(value: object, limit: int) -> str | None:
    """A JSON number within ``±limit`` as plain decimal text; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value) if abs(value) <= limit else None
    if isinstance(value, float) and math.isfinite(value) and abs(value) <= limit:
        # repr gives the shortest text of the float; "f" avoids exponents such as 1e-05.
        return format(Decimal(repr(value)), "f")
    return None


def _location(value: object) -> dict[str, str | None]:
    """The ``location_*`` keys from ``info.location`` (an object, a plain text, or null)."""
    if isinstance(value, str):
        return {"location_address": _text(value)}
    if not isinstance(value, Mapping):
        return {}
    fields = _object(value.get("fields"))

    road, house_number = _text(fields.get("road")), _text_or_integer(fields.get("house_number"))
    address = f"{house_number} {road}" if road and house_number else road or _text(value.get("text"))
    county = _text(fields.get("state")) or _text(fields.get("county")) or _text(fields.get("state_district"))
    location = {
        "location_address": address,
        "location_city": _text(fields.get("city")),
        "location_county": county,
        "location_country": to_iso_alpha2(_text(fields.get("country"))),
        "location_postcode": _text_or_integer(fields.get("postcode")),
    }

    latitude, longitude = _coordinate(value.get("lat"), 90), _coordinate(value.get("lng"), 180)
    # Both or neither; (0, 0) is what geocoders write when they found nothing.
    if latitude is not None and longitude is not None and (float(latitude), float(longitude)) != (0, 0):
        location["location_latitude"], location["location_longitude"] = latitude, longitude
    return location


_EndState = Literal["open", "ended", "unknown"]


@dataclass(frozen=True)
class _Job:
    """An experience with its dates read, for choosing the current job."""

    index: int
    experience: Mapping[str, Any]
    start: datetime | None
    end: datetime | None
    end_state: _EndState


def _is_empty_date(value: object) -> bool:
    """True for a date slot that holds nothing: null, blank text, ``{"iso8601": null}``."""
    if value is None:
        return True
    if isinstance(value, str):
        return _text(value) is None
    if isinstance(value, Mapping):
        return _is_empty_date(value.get("iso8601")) and _is_empty_date(value.get("timestamp"))
    return False


def _read_job(index: int, experience: Mapping[str, Any]) -> _Job:
    """Read the dates of one experience and whether it is still open."""
    date_start, date_end = experience.get("date_start"), experience.get("date_end")
    start = None if is_no_date_marker(date_start) else parse_hrflow_datetime(date_start)
    if is_no_date_marker(date_end) or _is_empty_date(date_end):
        return _Job(index, experience, start, None, "open")
    end = parse_hrflow_datetime(date_end)
    return _Job(index, experience, start, end, "ended" if end is not None else "unknown")


def select_current_job(experiences: object) -> Mapping[str, Any] | None:
    """The experience Broadbean's ``current_job_*`` keys describe, or None.

    Only experiences with a title or a company count. The current job is one without an end
    date (null, empty or the ``1969-12-31T23:59:59`` marker); among several, the latest start.
    Without one, the experience that started last, then the one that ended last. An unreadable
    end date does not make a job current. Remaining ties go to the one listed first.
    """
    if not isinstance(experiences, list):
        return None
    jobs = [
        _read_job(index, experience)
        for index, experience in enumerate(experiences)
        if isinstance(experience, Mapping)
        and (_text(experience.get("title")) or _text(experience.get("company")))
    ]
    if not jobs:
        return None

    open_jobs = [job for job in jobs if job.end_state == "open"]
    if open_jobs:
        return max(open_jobs, key=lambda job: (job.start or _EARLIEST, -job.index)).experience
    return max(jobs, key=lambda job: (job.start or _EARLIEST, job.end or _EARLIEST, -job.index)).experience


def _current_job(experiences: object) -> dict[str, str | None]:
    """The ``current_job_*`` keys; the end date only when the job has ended."""
    experience = select_current_job(experiences)
    if experience is None:
        return {}
    date_end = experience.get("date_end")
    return {
        "current_job_title": _text(experience.get("title")),
        "current_job_employer": _text(experience.get("company")),
        "current_job_startdate": to_broadbean_date(experience.get("date_start")),
        "current_job_enddate": to_broadbean_date(date_end),
    }


def _profile_key(profile: Mapping[str, Any]) -> str | None:
    """The profile's key for messages, or None when it has none worth showing."""
    key = profile.get("key")
    if not isinstance(key, str):
        return None
    return key.strip() or None


def default_format(profile: dict[str, Any]) -> dict[str, Any]:
    """Map one HrFlow profile to Broadbean's candidate node, as a JSON-ready dict.

    Only keys with a known value are present; the result has passed :class:`Candidate`
    validation. Attachments are downloaded with the options of
    :func:`~airflow_provider_broadbean.documents.use_document_options`.

    :param profile: the HrFlow profile, as returned by the HrFlow API.
    :raises MappingError: when ``name`` or ``email`` cannot be produced, when the CV cannot be
        downloaded under ``cv_policy="fail"`` (``field="documents"``), or when the profile is not
        a JSON object (``field="profile"``).
    """
    if not isinstance(profile, Mapping):
        raise MappingError(None, "profile", f"expected a JSON object, got {type(profile).__name__}")
    profile_key = _profile_key(profile)
    info = _object(profile.get("info"))

    # Required fields first: a profile that cannot be sent downloads nothing.
    candidate: dict[str, Any] = {**_names(profile_key, info), "email": _email(profile_key, info)}
    candidate["contact_telephone"] = _text(info.get("phone"))
    candidate.update(_location(info.get("location")))
    candidate.update(_current_job(profile.get("experiences")))
    documents = build_documents(profile_key, profile.get("attachments"))
    if documents:
        candidate["documents"] = documents

    try:
        model = Candidate.model_validate(candidate)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "candidate"
        raise MappingError(profile_key, field, f"rejected by the candidate model: {error['msg']}") from exc
    return model.model_dump(mode="json", exclude_none=True)

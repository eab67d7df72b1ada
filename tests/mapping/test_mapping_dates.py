"""HrFlow dates to Broadbean dates, in every form HrFlow writes, whatever the worker's TZ."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_broadbean.dates import is_no_date_marker, parse_hrflow_datetime, to_broadbean_date
from airflow_provider_broadbean.models import BROADBEAN_DATE

FORMS: list[tuple[Any, str | None]] = [
    ("2018-01-01T00:00:00", "2018-01-01T00:00:00"),
    ("2018-01-01T00:00:00+0000", "2018-01-01T00:00:00"),
    ("2018-01-01T00:00:00+00:00", "2018-01-01T00:00:00"),
    ("2018-01-01T00:00:00Z", "2018-01-01T00:00:00"),
    ("2018-01-01T00:00:00z", "2018-01-01T00:00:00"),
    ("2018-01-01T02:30:00+0230", "2018-01-01T00:00:00"),
    ("2017-12-31T19:00:00-05:00", "2018-01-01T00:00:00"),
    ("2018-01-01T10:00:00.123456+0000", "2018-01-01T10:00:00"),
    ("2018-01-01T10:00:00.999Z", "2018-01-01T10:00:00"),
    ("2018-01-01 10:00:00", "2018-01-01T10:00:00"),
    ("2018-01-01T10:00", "2018-01-01T10:00:00"),
    ("  2018-01-01T10:00:00  ", "2018-01-01T10:00:00"),
    ("2018-01-01", "2018-01-01T00:00:00"),
    ({"iso8601": "2018-01-01T00:00:00+0000"}, "2018-01-01T00:00:00"),
    ({"iso8601": "2018-01-01T01:00:00+01:00", "timestamp": 1}, "2018-01-01T00:00:00"),
    ({"iso8601": None, "timestamp": 1514764800}, "2018-01-01T00:00:00"),
    ({"iso8601": None}, None),
    ({}, None),
    (datetime(2018, 1, 1, 1, tzinfo=timezone(timedelta(hours=1))), "2018-01-01T00:00:00"),
    (datetime(2018, 1, 1, 1), "2018-01-01T01:00:00"),
    (date(2018, 1, 1), "2018-01-01T00:00:00"),
    ("0999-01-01T00:00:00", "0999-01-01T00:00:00"),
    (None, None),
    ("", None),
    ("   ", None),
    ("junk", None),
    ("2018", None),
    ("2018-13-01T00:00:00", None),
    ("2018-02-30", None),
    ("2018-01-01T25:00:00", None),
    ("2018-01-01T00:00:00+2500", None),
    ("0001-01-01T00:00:00+0100", None),
    ("9999-12-31T23:00:00-0200", None),
    ("\uff12\uff10\uff11\uff18-01-01", None),  # full-width digits
    ({"iso8601": "junk"}, None),
    (1514764800, None),
    (True, None),
    ([], None),
    (["2018-01-01"], None),
    ({"timestamp": float("nan")}, None),
    ({"timestamp": 10**30}, None),
]

MARKERS = [
    "1969-12-31T23:59:59",
    "1969-12-31T23:59:59+0000",
    "1969-12-31T23:59:59+00:00",
    "1969-12-31T23:59:59Z",
    "1969-12-31T23:59:59+0200",
    "1970-01-01T00:59:59+01:00",
    {"iso8601": "1969-12-31T23:59:59+0000"},
    {"timestamp": -1},
]


@pytest.fixture(params=["UTC0", "IST-05:30", "EST+05EDT,M3.2.0,M11.1.0", "NZST-12NZDT,M9.5.0,M4.1.0/3"])
def worker_time_zone(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run the test with the process's local zone set to each of several POSIX TZ values."""
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(("value", "expected"), FORMS)
def test_to_broadbean_date_reads_every_form(value: Any, expected: str | None, worker_time_zone: str) -> None:
    assert os.environ["TZ"] == worker_time_zone
    assert to_broadbean_date(value) == expected


@pytest.mark.parametrize("value", MARKERS)
def test_the_1969_marker_means_no_date(value: Any, worker_time_zone: str) -> None:
    assert is_no_date_marker(value)
    assert to_broadbean_date(value) is None


@pytest.mark.parametrize("value", ["1969-12-31T23:59:58", "1970-01-01T00:00:00", "1969-12-31", None, "junk"])
def test_other_values_are_not_the_marker(value: Any) -> None:
    assert not is_no_date_marker(value)


def test_parse_returns_aware_utc(worker_time_zone: str) -> None:
    parsed = parse_hrflow_datetime("2026-05-04T09:30:00+0200")

    assert parsed == datetime(2026, 5, 4, 7, 30, tzinfo=timezone.utc)
    assert parsed is not None and parsed.utcoffset() == timedelta(0)
    assert parse_hrflow_datetime("2026-05-04T09:30:00") == datetime(2026, 5, 4, 9, 30, tzinfo=timezone.utc)


def test_parse_keeps_the_marker_instant_for_cursors() -> None:
    assert parse_hrflow_datetime("1969-12-31T23:59:59") == datetime(
        1969, 12, 31, 23, 59, 59, tzinfo=timezone.utc
    )


def test_results_do_not_depend_on_tz(monkeypatch: pytest.MonkeyPatch) -> None:
    values = [value for value, _ in FORMS] + MARKERS
    results = []
    for zone in ("UTC0", "HST+10", "LHST-10:30LHDT-11,M10.1.0,M4.1.0"):
        monkeypatch.setenv("TZ", zone)
        time.tzset()
        results.append([(to_broadbean_date(v), parse_hrflow_datetime(v)) for v in values])
    monkeypatch.undo()
    time.tzset()

    assert results[0] == results[1] == results[2]


OFFSETS = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59).map(lambda m: timedelta(minutes=m))


@settings(max_examples=400, deadline=None)
@given(
    moment=st.datetimes(min_value=datetime(1000, 1, 2), max_value=datetime(9998, 12, 30)),
    offset=OFFSETS,
    style=st.sampled_from(["+hhmm", "+hh:mm", "Z", "naive", "object"]),
)
def test_written_offsets_convert_to_utc(moment: datetime, offset: timedelta, style: str) -> None:
    """Any instant written with any offset style gives the same UTC wall clock."""
    moment = moment.replace(microsecond=0)
    if style in ("Z", "naive"):
        offset = timedelta(0)
    local = moment + offset
    minutes = int(offset.total_seconds()) // 60
    sign, minutes = ("-" if minutes < 0 else "+"), abs(minutes)
    written = local.strftime("%Y-%m-%dT%H:%M:%S") if local.year >= 1000 else local.isoformat()
    zone = {
        "+hhmm": f"{sign}{minutes // 60:02d}{minutes % 60:02d}",
        "+hh:mm": f"{sign}{minutes // 60:02d}:{minutes % 60:02d}",
        "Z": "Z",
        "naive": "",
        "object": f"{sign}{minutes // 60:02d}{minutes % 60:02d}",
    }[style]
    value: Any = written + zone
    if style == "object":
        value = {"iso8601": value}

    expected = None if moment == datetime(1969, 12, 31, 23, 59, 59) else moment.isoformat()
    assert to_broadbean_date(value) == expected


@settings(max_examples=400, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(st.sampled_from(["iso8601", "timestamp", "x"]), inner)
        ),
        max_leaves=5,
    )
    | st.from_regex(
        r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?", fullmatch=True
    )
)
def test_any_value_gives_a_broadbean_date_or_none(value: Any) -> None:
    result = to_broadbean_date(value)

    assert result is None or BROADBEAN_DATE.fullmatch(result)
    parsed = parse_hrflow_datetime(value)
    assert parsed is None or parsed.utcoffset() == timedelta(0)

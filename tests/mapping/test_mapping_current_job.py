"""Which experience becomes Broadbean's current job, and how it is written."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_broadbean.mapping import default_format, select_current_job

MARKER = "1969-12-31T23:59:59"


def _job(title: str, start: Any = None, end: Any = None, company: Any = "Example Ltd") -> dict[str, Any]:
    return {"title": title, "company": company, "date_start": start, "date_end": end}


def _title(experiences: Any) -> str | None:
    job = select_current_job(experiences)
    return None if job is None else job["title"]


def test_the_job_without_end_date_is_current() -> None:
    experiences = [
        _job("later but ended", "2022-01-01T00:00:00", "2023-01-01T00:00:00"),
        _job("current", "2020-01-01T00:00:00", None),
    ]

    assert _title(experiences) == "current"


@pytest.mark.parametrize(
    "end", [None, "", "  ", MARKER, MARKER + "+0000", {"iso8601": None}, {"iso8601": MARKER}, "Undefined"]
)
def test_no_end_date_and_the_marker_both_mean_open(end: Any) -> None:
    experiences = [_job("ended", "2022-01-01", "2023-01-01"), _job("open", "2019-01-01", end)]

    assert _title(experiences) == "open"


def test_the_end_key_may_be_missing() -> None:
    experiences = [_job("ended", "2022-01-01", "2023-01-01"), {"title": "open", "date_start": "2019-01-01"}]

    assert _title(experiences) == "open"


def test_among_open_jobs_the_latest_start_wins() -> None:
    experiences = [
        _job("older", "2015-01-01T00:00:00+0000"),
        _job("newer", "2021-06-01T00:00:00Z"),
        _job("no start"),
    ]

    assert _title(experiences) == "newer"


def test_without_open_job_the_latest_start_wins() -> None:
    experiences = [
        _job("first", "2010-01-01", "2012-01-01"),
        _job("latest start", "2016-01-01", "2017-01-01"),
        _job("latest end", "2011-01-01", "2020-01-01"),
    ]

    assert _title(experiences) == "latest start"


def test_start_dates_compare_in_utc() -> None:
    experiences = [
        _job("a", "2020-01-01T00:30:00+0100", "2021-01-01"),  # 2019-12-31T23:30:00 UTC
        _job("b", "2020-01-01T00:00:00Z", "2021-01-01"),
    ]

    assert _title(experiences) == "b"


def test_ties_go_to_the_job_listed_first() -> None:
    assert _title([_job("one", "2020-01-01"), _job("two", "2020-01-01")]) == "one"
    assert _title([_job("one"), _job("two")]) == "one"
    assert _title([_job("one", "2020-01-01", "2021-01-01"), _job("two", "2020-01-01", "2021-01-01")]) == "one"


def test_same_start_ended_jobs_prefer_the_latest_end() -> None:
    assert _title([_job("one", "2020-01-01", "2021-01-01"), _job("two", "2020-01-01", "2022-01-01")]) == "two"


def test_an_unreadable_end_date_does_not_make_a_job_current() -> None:
    experiences = [_job("junk end", "2022-01-01", "sometime"), _job("open", "2010-01-01", None)]

    assert _title(experiences) == "open"


@pytest.mark.parametrize(
    "experiences",
    [
        None,
        {},
        "experiences",
        3,
        [],
        [None, 1, "x", []],
        [{"title": None, "company": ""}, {"date_start": "2020"}],
    ],
)
def test_no_usable_experience_gives_no_job(experiences: Any) -> None:
    assert select_current_job(experiences) is None


def _candidate(experiences: Any) -> dict[str, Any]:
    profile = {
        "key": "k",
        "info": {"full_name": "Ada", "email": "ada@example.test"},
        "experiences": experiences,
    }
    candidate = default_format(profile)
    return {key: value for key, value in candidate.items() if key.startswith("current_job")}


def test_current_job_keys_of_an_open_job() -> None:
    experiences = [_job("Data Engineer", "2021-03-01T00:00:00+0000", MARKER, " Example Ltd ")]

    assert _candidate(experiences) == {
        "current_job_title": "Data Engineer",
        "current_job_employer": "Example Ltd",
        "current_job_startdate": "2021-03-01T00:00:00",
    }


def test_current_job_keys_of_an_ended_job() -> None:
    experiences = [_job("Analyst", {"iso8601": "2018-01-01T00:00:00+0000"}, "2020-06-30T22:00:00-0200")]

    assert _candidate(experiences) == {
        "current_job_title": "Analyst",
        "current_job_employer": "Example Ltd",
        "current_job_startdate": "2018-01-01T00:00:00",
        "current_job_enddate": "2020-07-01T00:00:00",
    }


def test_unknown_parts_of_the_job_are_left_out() -> None:
    experiences = [{"title": None, "company": "Örsted A/S", "date_start": "junk", "date_end": "junk"}]

    assert _candidate(experiences) == {"current_job_employer": "Örsted A/S"}

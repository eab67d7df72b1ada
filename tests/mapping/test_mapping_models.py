"""The candidate model's checks, which every format's output goes through."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from airflow_provider_broadbean.models import Candidate, Document, is_email

BASE = {"name": "Ada", "email": "ada@example.test"}


@pytest.mark.parametrize(
    "extra",
    [
        {"location_latitude": "-90", "location_longitude": "180"},
        {"location_latitude": "51.5203", "location_longitude": "-0.0750"},
        {"current_job_startdate": "2024-02-29T23:59:59"},
        {"current_job_title": "Ingénieure", "custom_key": "kept"},
        {"documents": [{"filename": "cv.pdf", "type": "cv", "content": "JVBERi0xLjQK"}]},
    ],
)
def test_valid_candidates_pass(extra: dict[str, Any]) -> None:
    assert Candidate.model_validate({**BASE, **extra}).model_dump(mode="json", exclude_none=True) == {
        **BASE,
        **extra,
    }


@pytest.mark.parametrize(
    "extra",
    [
        {"name": "   "},
        {"email": "ada@example"},
        {"email": "Ada <ada@example.test>"},
        {"location_latitude": "91"},
        {"location_longitude": "-180.5"},
        {"location_latitude": "nan"},
        {"location_latitude": "inf"},
        {"location_latitude": "1e1"},
        {"location_latitude": "1_0"},
        {"location_latitude": " 10"},
        {"location_latitude": "9" * 400},
        {"current_job_startdate": "2023-02-29T00:00:00"},
        {"current_job_startdate": "2023-01-01"},
        {"current_job_startdate": "2023-01-01T00:00:00Z"},
        {"current_job_enddate": "2023-01-01T00:00:00\n"},
        {"documents": [{"filename": " ", "type": "cv", "content": "JVBERi0xLjQK"}]},
        {"documents": [{"filename": "a.pdf", "type": "resume", "content": "JVBERi0xLjQK"}]},
        {"documents": [{"filename": "a.pdf", "type": "cv", "content": "JVBERi0x\nLjQK"}]},
        {"documents": [{"filename": "a.pdf", "type": "cv", "content": "JVBERi0xLjQ"}]},
    ],
)
def test_invalid_candidates_are_refused(extra: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Candidate.model_validate({**BASE, **extra})


def test_document_forbids_unknown_keys() -> None:
    with pytest.raises(ValidationError):
        Document.model_validate({"filename": "a.pdf", "type": "cv", "content": "YQ==", "size": 1})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ada@example.test", True),
        ("a.b+c@sub.example.co.uk", True),
        ("иван@пример.рф", True),
        ("ada@localhost", False),
        ("ada@example.test ", False),
        ("a" * 245 + "@example.test", False),
    ],
)
def test_is_email(value: str, expected: bool) -> None:
    assert is_email(value) is expected

"""The project's failure cases (tests/mapping/cases), each with the right values asserted."""

from __future__ import annotations

import base64
import logging
from typing import Any

import pytest
from mapping_support import FakeFetcher, FileServer, load_case

from airflow_provider_broadbean.documents import DocumentOptions, use_document_options
from airflow_provider_broadbean.exceptions import AttachmentError, MappingError
from airflow_provider_broadbean.mapping import default_format
from airflow_provider_broadbean.models import Candidate

ADA_CV = {"type": "cv", "filename": "ada_cv.pdf", "content": base64.b64encode(b"%PDF-1.4\n").decode()}
ADA_LETTER = {
    "type": "coverletter",
    "filename": "letter.txt",
    "content": base64.b64encode(b"Dear hiring\n").decode(),
}


# locations.json: null or odd info.location never crashes; coordinates only from two numbers.

EXPECTED_LOCATIONS: list[dict[str, Any]] = [
    {"name": "Bo Test", "email": "bo1@example.test"},
    {"name": "Bo Test", "email": "bo2@example.test"},
    {
        "name": "Bo Test",
        "email": "bo3@example.test",
        "location_address": "Lyon",
        "location_latitude": "45.76",
        "location_longitude": "4.83",
    },
    {"name": "Bo Test", "email": "bo4@example.test", "location_address": "Oslo"},
]


@pytest.mark.parametrize("index", range(4))
def test_locations_case_maps_every_profile(index: int) -> None:
    profile = load_case("locations.json")[index]

    assert default_format(profile) == EXPECTED_LOCATIONS[index]


# missing_email.json: no email means a format failure naming the key and "email", no invention.


def test_missing_email_case_fails_on_email_with_the_key() -> None:
    profile = load_case("missing_email.json")[0]

    with pytest.raises(MappingError) as raised:
        default_format(profile)

    assert raised.value.field == "email"
    assert raised.value.profile_key == "d000000000000000000000000000000000000001"
    assert "d000000000000000000000000000000000000001" in str(raised.value)
    assert "email" in str(raised.value)


def test_missing_email_case_maps_the_other_profile() -> None:
    profile = load_case("missing_email.json")[1]

    assert default_format(profile) == {"name": "Mia Example", "email": "mia@example.test"}


# context.json: the candidate part of the expected body.


def test_context_case_candidate_equals_the_expected_body() -> None:
    case = load_case("context.json")

    assert default_format(case["profile"]) == case["expected_body"]["candidate"]


# attachments.json: one CV from "original", the cover letter, and the policy for a dead link.


def test_attachments_case_with_the_default_fetcher_on_a_real_server(file_server: FileServer) -> None:
    profile = file_server.fill(load_case("attachments.json")["profile"])

    with use_document_options(DocumentOptions(timeout=5)):
        candidate = default_format(profile)

    assert candidate["documents"] == [ADA_CV, ADA_LETTER]
    assert [document["type"] for document in candidate["documents"]].count("cv") == 1
    assert file_server.requests == ["ok.pdf", "letter.txt"]
    assert candidate == {
        "name": "Ada Example",
        "first_name": "Ada",
        "last_name": "Example",
        "email": "ada@example.test",
        "contact_telephone": "+44 7700 900123",
        "documents": [ADA_CV, ADA_LETTER],
    }
    Candidate.model_validate(candidate)


def test_attachments_case_expired_link_fails_the_profile_under_fail(file_server: FileServer) -> None:
    profile = file_server.fill(load_case("attachments.json")["profile_with_expired_link"])

    with use_document_options(DocumentOptions(timeout=5)), pytest.raises(MappingError) as raised:
        default_format(profile)

    assert raised.value.field == "documents"
    assert raised.value.profile_key == "b1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
    assert "403" in raised.value.detail
    assert "AccessDenied" not in str(raised.value)


def test_attachments_case_expired_link_sends_without_cv_under_send_without(
    file_server: FileServer, caplog: pytest.LogCaptureFixture
) -> None:
    profile = file_server.fill(load_case("attachments.json")["profile_with_expired_link"])

    with (
        use_document_options(DocumentOptions(timeout=5, cv_policy="send_without")),
        caplog.at_level(logging.WARNING, logger="airflow_provider_broadbean.documents"),
    ):
        candidate = default_format(profile)

    assert candidate == {"name": "Bo Example", "email": "bo@example.test"}
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "b1b2c3d4e5f60718293a4b5c6d7e8f9012345678" in warnings[0].getMessage()
    assert "403" in warnings[0].getMessage()


def test_attachments_case_with_an_injected_fetcher() -> None:
    case = load_case("attachments.json")
    fetcher = FakeFetcher(
        {
            "https://files.test/ok.pdf": b"%PDF-1.4\n",
            "https://files.test/letter.txt": b"Dear hiring\n",
            "https://files.test/expired.pdf": AttachmentError("HTTP 403", status=403),
        }
    )
    profiles = [
        FileServer(base_url="https://files.test", routes={}).fill(case[name])
        for name in ("profile", "profile_with_expired_link")
    ]

    with use_document_options(DocumentOptions(fetcher=fetcher)):
        assert default_format(profiles[0])["documents"] == [ADA_CV, ADA_LETTER]
        with pytest.raises(MappingError, match="documents"):
            default_format(profiles[1])
    with use_document_options(DocumentOptions(fetcher=fetcher, cv_policy="send_without")):
        assert "documents" not in default_format(profiles[1])
    assert fetcher.calls.count("https://files.test/ok.pdf") == 1

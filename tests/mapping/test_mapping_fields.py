"""default_format field by field: names, email, phone, location, text and odd shapes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_broadbean.exceptions import MappingError
from airflow_provider_broadbean.mapping import default_format
from airflow_provider_broadbean.models import Candidate

KEY = "a000000000000000000000000000000000000001"


def _map(**info: Any) -> dict[str, Any]:
    return default_format(
        {"key": KEY, "info": {"full_name": "Ada Example", "email": "ada@example.test", **info}}
    )


def _location(location: Any) -> dict[str, Any]:
    return {key: value for key, value in _map(location=location).items() if key.startswith("location_")}


# Names.


@pytest.mark.parametrize(
    ("info", "expected"),
    [
        ({"full_name": "  Ada Example  "}, {"name": "Ada Example"}),
        (
            {"full_name": "Ada Lovelace", "first_name": "Ada", "last_name": "Example"},
            {"name": "Ada Lovelace", "first_name": "Ada", "last_name": "Example"},
        ),
        (
            {"full_name": None, "first_name": " Ada ", "last_name": " Example "},
            {"name": "Ada Example", "first_name": "Ada", "last_name": "Example"},
        ),
        ({"full_name": "", "first_name": "Ada", "last_name": ""}, {"name": "Ada", "first_name": "Ada"}),
        ({"full_name": "Undefined", "last_name": "Example"}, {"name": "Example", "last_name": "Example"}),
        ({"full_name": 42, "first_name": "Ada", "last_name": None}, {"name": "Ada", "first_name": "Ada"}),
    ],
)
def test_name_rules(info: dict[str, Any], expected: dict[str, Any]) -> None:
    candidate = default_format({"key": KEY, "info": {"email": "ada@example.test", **info}})

    assert {
        key: candidate[key] for key in ("name", "first_name", "last_name") if key in candidate
    } == expected


@pytest.mark.parametrize(
    "info",
    [
        {},
        {"full_name": None},
        {"full_name": "  ", "first_name": "", "last_name": None},
        {"full_name": "null", "first_name": "None"},
        {"full_name": ["Ada"], "first_name": {"x": 1}},
    ],
)
def test_no_name_is_a_mapping_error_on_name(info: dict[str, Any]) -> None:
    with pytest.raises(MappingError) as raised:
        default_format({"key": KEY, "info": {"email": "ada@example.test", **info}})

    assert (raised.value.field, raised.value.profile_key) == ("name", KEY)


def test_name_is_checked_before_email() -> None:
    with pytest.raises(MappingError) as raised:
        default_format({"key": KEY, "info": {}})

    assert raised.value.field == "name"


# Email.


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("  ada@example.test ", "ada@example.test"),
        ("Ada.Example+tag@Example.CO.UK", "Ada.Example+tag@Example.CO.UK"),
        ("jean-luc.o'neil@sub.example.fr", "jean-luc.o'neil@sub.example.fr"),
        ("élodie@exemple.fr", "élodie@exemple.fr"),
        ("иван@пример.рф", "иван@пример.рф"),
    ],
)
def test_valid_emails_are_trimmed_and_kept(email: str, expected: str) -> None:
    assert _map(email=email)["email"] == expected


@pytest.mark.parametrize(
    "email",
    [
        None,
        "",
        "   ",
        "null",
        "Undefined",
        42,
        ["ada@example.test"],
        {"email": "ada@example.test"},
        "ada",
        "ada@",
        "@example.test",
        "ada@example",
        "ada@@example.test",
        "ada@exa mple.test",
        "ada example@example.test",
        "ada@example..test",
        "ada@.example.test",
        "ada@example.test.",
        "Ada <ada@example.test>",
        "ada@example.test, bo@example.test",
        "ada@exam\nple.test",
        "a\x00da@example.test",
        "x" * 250 + "@example.test",
    ],
)
def test_missing_or_invalid_email_is_a_mapping_error_on_email(email: Any) -> None:
    with pytest.raises(MappingError) as raised:
        _map(email=email)

    assert (raised.value.field, raised.value.profile_key) == ("email", KEY)
    assert KEY in str(raised.value)
    assert "email" in str(raised.value)


# Phones.


def test_phone_goes_to_contact_telephone_only() -> None:
    candidate = _map(phone=" +44 7700 900123 ")

    assert candidate["contact_telephone"] == "+44 7700 900123"
    assert "mobile_telephone" not in candidate


@pytest.mark.parametrize("phone", [None, "", " ", 447700900123, ["+44"], "N/A"])
def test_unknown_phone_is_left_out(phone: Any) -> None:
    assert "contact_telephone" not in _map(phone=phone)


# Location.


def test_full_location() -> None:
    location = {
        "text": "1 Example Road, London E1 6AN, UK",
        "lat": 51.5203,
        "lng": -0.075,
        "fields": {
            "road": "Example Road",
            "house_number": "1",
            "city": "London",
            "state": "England",
            "country": "GBR",
            "postcode": "E1 6AN",
        },
    }

    assert _location(location) == {
        "location_address": "1 Example Road",
        "location_city": "London",
        "location_county": "England",
        "location_country": "GB",
        "location_postcode": "E1 6AN",
        "location_latitude": "51.5203",
        "location_longitude": "-0.075",
    }


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        (None, {}),
        ("Paris, France", {"location_address": "Paris, France"}),
        ("  ", {}),
        (42, {}),
        ([], {}),
        ({}, {}),
        ({"text": None, "lat": None, "lng": None, "fields": []}, {}),
        ({"text": "Lyon", "fields": None}, {"location_address": "Lyon"}),
        ({"text": "Lyon", "fields": "Lyon"}, {"location_address": "Lyon"}),
        (
            {"text": "Lyon", "fields": {"road": "Rue de la République"}},
            {"location_address": "Rue de la République"},
        ),
        ({"text": "Lyon", "fields": {"house_number": "12"}}, {"location_address": "Lyon"}),
        ({"fields": {"road": "Hauptstraße", "house_number": 5}}, {"location_address": "5 Hauptstraße"}),
        ({"fields": {"postcode": 69001, "city": 69}}, {"location_postcode": "69001"}),
        ({"fields": {"postcode": True, "city": ["Lyon"], "country": {"code": "FR"}}}, {}),
        ({"fields": {"county": "Kent"}}, {"location_county": "Kent"}),
        ({"fields": {"state": "", "state_district": "Rhône"}}, {"location_county": "Rhône"}),
        ({"fields": {"country": "France"}}, {"location_country": "FR"}),
        ({"fields": {"country": "fr"}}, {"location_country": "FR"}),
        ({"fields": {"country": "Atlantis"}}, {"location_country": "Atlantis"}),
        ({"fields": {"country": "Undefined"}}, {}),
    ],
)
def test_location_shapes(location: Any, expected: dict[str, Any]) -> None:
    assert _location(location) == expected


@pytest.mark.parametrize(
    ("lat", "lng", "expected"),
    [
        (45.76, 4.83, ("45.76", "4.83")),
        (45, -4, ("45", "-4")),
        (-90, 180, ("-90", "180")),
        (0.00001, 1e-7, ("0.00001", "0.0000001")),
        (51.0, 0, ("51.0", "0")),
        (0, 0, None),
        (0.0, -0.0, None),
        (45.76, None, None),
        (None, 4.83, None),
        ("45.76", "4.83", None),
        ("lat", "lng", None),
        (True, False, None),
        (float("nan"), 4.83, None),
        (float("inf"), 4.83, None),
        (91, 4.83, None),
        (45.76, 181.0, None),
        (10**400, 1, None),
        ([45.76], {"v": 4.83}, None),
    ],
)
def test_coordinates_only_from_two_real_numbers(lat: Any, lng: Any, expected: tuple[str, str] | None) -> None:
    location = _location({"lat": lat, "lng": lng})
    coordinates = (location["location_latitude"], location["location_longitude"]) if location else None

    assert coordinates == expected


def test_longitude_comes_from_lng() -> None:
    location = _location({"lat": 10.5, "lng": 20.25, "lon": 99.0, "long": 98.0})

    assert (location["location_latitude"], location["location_longitude"]) == ("10.5", "20.25")


# Text, placeholders, shapes.


def test_unicode_text_is_kept_byte_for_byte() -> None:
    decomposed = "E\u0301lodie"  # not normalised to "Élodie"
    candidate = default_format(
        {
            "key": KEY,
            "info": {
                "full_name": f" {decomposed} Дмитриева 王芳 ",
                "email": "elodie@example.test",
                "location": {"fields": {"city": "Zürich", "road": "Straße", "house_number": "12bis"}},
            },
            "experiences": [{"title": "Ingénieure", "company": "株式会社テスト"}],
        }
    )

    assert candidate["name"] == f"{decomposed} Дмитриева 王芳"
    assert candidate["location_city"] == "Zürich"
    assert candidate["location_address"] == "12bis Straße"
    assert candidate["current_job_employer"] == "株式会社テスト"
    assert json.loads(json.dumps(candidate, ensure_ascii=False)) == candidate


def test_lone_surrogates_are_unknown_because_they_cannot_be_sent() -> None:
    candidate = _map(phone="+33\ud800", location="Lyon\udfff")

    assert "contact_telephone" not in candidate
    assert "location_address" not in candidate
    json.dumps(candidate, ensure_ascii=False).encode("utf-8")


@pytest.mark.parametrize("profile", [None, [], "profile", 42, ["key", "info"]])
def test_a_profile_that_is_not_an_object_is_a_mapping_error(profile: Any) -> None:
    with pytest.raises(MappingError) as raised:
        default_format(profile)

    assert raised.value.field == "profile"


@pytest.mark.parametrize("info", [None, [], "Ada", 1])
def test_info_of_the_wrong_shape_fails_on_name(info: Any) -> None:
    with pytest.raises(MappingError) as raised:
        default_format({"key": KEY, "info": info})

    assert raised.value.field == "name"


@pytest.mark.parametrize("key", [None, 42, "", ["k"]])
def test_key_of_the_wrong_shape_is_reported_as_missing(key: Any) -> None:
    with pytest.raises(MappingError) as raised:
        default_format({"key": key, "info": {}})

    assert raised.value.profile_key is None
    assert "<no key>" in str(raised.value)


def test_the_result_is_a_validated_json_ready_dict_without_none() -> None:
    candidate = _map(phone=None, first_name=None, location={"text": None, "lat": 1.5, "lng": None})

    assert candidate == {"name": "Ada Example", "email": "ada@example.test"}
    assert Candidate.model_validate(candidate).model_dump(mode="json", exclude_none=True) == candidate


def test_the_profile_is_not_changed() -> None:
    profile = {
        "key": KEY,
        "info": {"full_name": " Ada ", "email": " ada@example.test ", "location": {"fields": []}},
    }
    before = json.dumps(profile, sort_keys=True)

    default_format(profile)

    assert json.dumps(profile, sort_keys=True) == before


def test_a_custom_format_starts_from_default_format() -> None:
    def my_format(profile: dict[str, Any]) -> dict[str, Any]:
        candidate = default_format(profile)
        candidate["current_job_title"] = "Engineer"
        candidate["mobile_telephone"] = profile["info"]["phone"]
        return candidate

    candidate = my_format(
        {"key": KEY, "info": {"full_name": "Ada", "email": "ada@example.test", "phone": "+447700"}}
    )

    assert candidate == {
        "name": "Ada",
        "email": "ada@example.test",
        "contact_telephone": "+447700",
        "current_job_title": "Engineer",
        "mobile_telephone": "+447700",
    }
    Candidate.model_validate(candidate)


def test_the_custom_format_example_of_the_docs_runs() -> None:
    docs = (Path(__file__).parents[2] / "docs" / "mapping.md").read_text(encoding="utf-8")
    example = docs.split("## Starting a custom format from `default_format`", 1)[1]
    code = example.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(compile(code, "docs/mapping.md", "exec"), namespace)

    profile = {
        "key": KEY,
        "info": {"full_name": "Ada", "email": "ada@example.test", "phone": " +447700900123 "},
        "tags": [{"name": "desired_title", "value": "Data Engineer"}, "junk"],
    }

    assert namespace["my_format"](profile) == {
        "name": "Ada",
        "email": "ada@example.test",
        "contact_telephone": "+447700900123",
        "mobile_telephone": "+447700900123",
        "current_job_title": "Data Engineer",
    }

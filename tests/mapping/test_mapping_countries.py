"""Country values to ISO 3166-1 alpha-2."""

from __future__ import annotations

from typing import Any

import pycountry
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_broadbean.countries import to_iso_alpha2


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("FR", "FR"),
        ("fr", "FR"),
        (" gb ", "GB"),
        ("FRA", "FR"),
        ("fra", "FR"),
        ("GBR", "GB"),
        ("USA", "US"),
        ("France", "FR"),
        ("FRANCE", "FR"),
        ("  france  ", "FR"),
        ("United Kingdom", "GB"),
        ("United  Kingdom", "GB"),
        ("UK", "GB"),
        ("uk", "GB"),
        ("Great Britain", "GB"),
        ("England", "GB"),
        ("Scotland", "GB"),
        ("United States", "US"),
        ("United States of America", "US"),
        ("The Netherlands", "NL"),
        ("Holland", "NL"),
        ("Germany", "DE"),
        ("South Korea", "KR"),
        ("Korea, Republic of", "KR"),
        ("Russia", "RU"),
        ("Russian Federation", "RU"),
        ("Turkey", "TR"),
        ("Türkiye", "TR"),
        ("Czech Republic", "CZ"),
        ("Côte d'Ivoire", "CI"),
        ("Ivory Coast", "CI"),
        ("French Republic", "FR"),
    ],
)
def test_codes_and_english_names_give_alpha2(value: str, expected: str) -> None:
    assert to_iso_alpha2(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Atlantis", "Atlantis"),
        ("  Atlantis  ", "Atlantis"),
        ("Ile-de-France", "Ile-de-France"),
        ("Allemagne", "Allemagne"),
        ("XK", "XK"),
        ("ZZZ", "ZZZ"),
        ("250", "250"),
        ("Korea", "Korea"),
        ("Российская Федерация", "Российская Федерация"),
        ("a very long country text that is not one", "a very long country text that is not one"),
    ],
)
def test_unknown_text_is_returned_stripped_and_never_cut(value: str, expected: str) -> None:
    assert to_iso_alpha2(value) == expected


@pytest.mark.parametrize("value", [None, "", "   ", 250, 1.5, True, [], {}, ["FR"], {"code": "FR"}])
def test_empty_or_non_text_gives_none(value: Any) -> None:
    assert to_iso_alpha2(value) is None


def test_every_iso_country_round_trips() -> None:
    for country in pycountry.countries:
        assert to_iso_alpha2(country.alpha_2.lower()) == country.alpha_2
        assert to_iso_alpha2(country.alpha_3) == country.alpha_2
        assert to_iso_alpha2(country.name) == country.alpha_2


ALPHA2 = {country.alpha_2 for country in pycountry.countries}


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_any_text_gives_an_iso_code_or_itself(value: str) -> None:
    result = to_iso_alpha2(value)

    if not value.strip():
        assert result is None
    else:
        assert result in ALPHA2 or result == value.strip()

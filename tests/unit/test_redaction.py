from __future__ import annotations

from airflow_provider_broadbean.redaction import redact


def test_every_occurrence_of_every_secret_is_masked() -> None:
    text = "key=abcdef123 sig=0011223344 again abcdef123"
    assert redact(text, ["abcdef123", "0011223344", None]) == "key=*** sig=*** again ***"


def test_short_values_are_not_masked() -> None:
    assert redact("id=1234", ["1234"]) == "id=1234"


def test_longer_secret_first_so_no_part_is_left() -> None:
    assert redact("abcdefgh", ["abcde", "abcdefgh"]) == "***"

"""Country values to ISO 3166-1 alpha-2 codes, as Broadbean expects in ``location_country``.

HrFlow's parser writes the country as an alpha-3 code (``FRA``), an alpha-2 code, or free text
(``France``). The ISO data comes from pycountry; a short table adds the English names people
write that ISO does not list (``UK``, ``England``, ``Russia``, ``Turkey``...).

A value that cannot be recognised is sent as written (surrounding white space removed) rather
than dropped or cut to two letters: a wrong code would mislead the recruiter, the original
text does not. Numeric codes (``250``) are not read as countries, since a number in that slot
is more likely a postcode than a country.
"""

from __future__ import annotations

import re

import pycountry

__all__ = ["to_iso_alpha2"]

# English names in common use that pycountry does not list, in lower case. "UK" is reserved by
# ISO 3166 for the United Kingdom and is what most people write; England, Scotland, Wales and
# Northern Ireland are not ISO countries, so they map to the state they belong to.
_COMMON_NAMES: dict[str, str] = {
    "uk": "GB",
    "u.k.": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "u.s.": "US",
    "u.s.a.": "US",
    "america": "US",
    "russia": "RU",
    "turkey": "TR",
    "ivory coast": "CI",
    "holland": "NL",
    "macedonia": "MK",
    "swaziland": "SZ",
    "cape verde": "CV",
    "vatican": "VA",
    "vatican city": "VA",
    "holy see": "VA",
    "micronesia": "FM",
    "brunei": "BN",
    "burma": "MM",
    "east timor": "TL",
    "macau": "MO",
    "palestine": "PS",
    "uae": "AE",
    "dr congo": "CD",
    "drc": "CD",
    "democratic republic of the congo": "CD",
    "republic of the congo": "CG",
    "bosnia": "BA",
    "st lucia": "LC",
    "falkland islands": "FK",
}

_WHITE_SPACE = re.compile(r"\s+")


def _lookup(text: str) -> str | None:
    """The alpha-2 code for an ISO code or name (any case), else None."""
    key = _WHITE_SPACE.sub(" ", text).casefold()
    if key.startswith("the "):
        key = key[4:]
    if key in _COMMON_NAMES:
        return _COMMON_NAMES[key]
    if key.isdigit():
        return None
    try:
        country = pycountry.countries.lookup(key)
    except LookupError:
        return None
    return str(country.alpha_2)


def to_iso_alpha2(value: object) -> str | None:
    """The ISO 3166-1 alpha-2 code of a country written as a code or an English name.

    Alpha-2 (any case), alpha-3 and English names, official or common, give the upper-case
    alpha-2 code. Text that is not recognised is returned unchanged apart from surrounding
    white space. Empty text and values that are not text give None.
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    return _lookup(text) or text

"""Property tests: profiles of any shape either map to a valid candidate or raise MappingError.

Every slot of the profile gets either a plausible value or any JSON value, with the odd shapes
seen in real HrFlow data (``fields: []``, ``location: null``, junk coordinates, the 1969 marker,
attachments without URL). Downloads go through a fake fetcher that succeeds, fails or returns
too much depending on the URL.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_broadbean.documents import DocumentOptions, use_document_options
from airflow_provider_broadbean.exceptions import AttachmentError, MappingError
from airflow_provider_broadbean.mapping import default_format
from airflow_provider_broadbean.models import Candidate

PLACEHOLDER_WORDS = ("Undefined", "None", "null")
MAX_BYTES = 64

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
)
ANY_JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)
ODD_TEXT = st.sampled_from(
    [
        "",
        "  ",
        "Undefined",
        "undefined",
        "null",
        "None",
        "N/A",
        "Élodie",
        "Лев",
        "王芳",
        "e\u0301",
        "a\ud800b",
        "\t x \n",
    ]
)
TEXT = st.one_of(ODD_TEXT, st.text(max_size=20), ANY_JSON)
EMAIL = st.one_of(
    st.emails(),
    st.sampled_from(
        ["ada@example.test", " ada@example.test ", "ada", "ada@", "a@b", "a@@b.c", "Ada <a@b.c>", ""]
    ),
    TEXT,
)
DATE = st.one_of(
    st.sampled_from(
        [
            "2018-01-01T00:00:00",
            "2018-01-01T00:00:00+0000",
            "2018-01-01T00:00:00+00:00",
            "2018-01-01T00:00:00Z",
            "2018-01-01",
            "1969-12-31T23:59:59",
            "1969-12-31T23:59:59+0000",
            "0001-01-01T00:00:00+0100",
            "2018-02-30",
            "junk",
        ]
    ),
    st.datetimes().map(lambda moment: moment.isoformat()),
    st.fixed_dictionaries({"iso8601": st.one_of(st.none(), st.datetimes().map(str), TEXT)}),
    ANY_JSON,
)
NUMBER = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-200, max_value=200),
    st.sampled_from([0, 0.0, -0.0, "45.76", "lat", True, 10**400]),
    ANY_JSON,
)
COUNTRY = st.one_of(st.sampled_from(["FR", "fra", "France", "UK", "Atlantis", "  ", "250"]), TEXT)
FIELDS = st.one_of(
    st.just([]),
    st.fixed_dictionaries(
        {},
        optional={
            "road": TEXT,
            "house_number": st.one_of(st.integers(), TEXT),
            "city": TEXT,
            "state": TEXT,
            "county": TEXT,
            "country": COUNTRY,
            "postcode": st.one_of(st.integers(), TEXT),
        },
    ),
    ANY_JSON,
)
LOCATION = st.one_of(
    st.fixed_dictionaries({}, optional={"text": TEXT, "lat": NUMBER, "lng": NUMBER, "fields": FIELDS}),
    TEXT,
)
INFO = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "full_name": TEXT,
            "first_name": TEXT,
            "last_name": TEXT,
            "email": EMAIL,
            "phone": TEXT,
            "location": LOCATION,
        },
    ),
    ANY_JSON,
)
EXPERIENCE = st.one_of(
    st.fixed_dictionaries(
        {}, optional={"title": TEXT, "company": TEXT, "date_start": DATE, "date_end": DATE}
    ),
    ANY_JSON,
)
URL = st.one_of(
    st.sampled_from(["https://f.test/ok.pdf", "https://f.test/fail.pdf", "https://f.test/big.pdf", "  "]),
    TEXT,
)
ATTACHMENT = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "type": st.one_of(st.sampled_from(["original", "resume", "cover", "other", "Original"]), TEXT),
            "file_name": TEXT,
            "original_file_name": TEXT,
            "extension": st.one_of(st.sampled_from([".pdf", "pdf", "", ".", "p d f"]), TEXT),
            "public_url": URL,
        },
    ),
    ANY_JSON,
)
PROFILE = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "key": st.one_of(st.text(alphabet="0123456789abcdef", min_size=40, max_size=40), ANY_JSON),
            "info": INFO,
            "experiences": st.one_of(st.lists(EXPERIENCE, max_size=4), ANY_JSON),
            "attachments": st.one_of(st.lists(ATTACHMENT, max_size=4), ANY_JSON),
        },
    ),
    ANY_JSON,
)


def fake_fetcher(url: str) -> bytes:
    """Succeeds, fails or sends too much, depending on the URL: the same URL, the same answer."""
    if "fail" in url:
        raise AttachmentError("HTTP 403", status=403)
    if "big" in url:
        return b"x" * (MAX_BYTES + 1)
    return f"file at {url}".encode("utf-8", "surrogatepass")[:MAX_BYTES]


def _strings(value: Any) -> list[str]:
    """Every string in a JSON value, dict keys included."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for key, item in value.items() for s in (*_strings(key), *_strings(item))]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def _contains_none(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, dict):
        return any(_contains_none(item) for item in value.values())
    if isinstance(value, list):
        return any(_contains_none(item) for item in value)
    return False


def _check(profile: Any, options: DocumentOptions) -> None:
    try:
        with use_document_options(options):
            candidate = default_format(profile)
    except MappingError as error:
        if not isinstance(profile, dict):
            assert error.field == "profile"
        else:
            assert error.field in {"name", "email", "documents"}
        if error.field == "documents":
            assert options.cv_policy == "fail"
        return

    assert isinstance(candidate, dict)
    Candidate.model_validate(candidate)
    assert not _contains_none(candidate)
    body = json.dumps(candidate, ensure_ascii=False, allow_nan=False).encode("utf-8")
    assert json.loads(body) == candidate

    documents = candidate.pop("documents", [])
    inputs = _strings(profile)
    for text in _strings(candidate):
        assert text == text.strip()
        assert text
        for word in PLACEHOLDER_WORDS:
            assert word not in text or any(word in source for source in inputs), (word, text)
    assert [d["type"] for d in documents].count("cv") <= 1
    for document in documents:
        content = base64.b64decode(document["content"], validate=True)
        assert 0 < len(content) <= MAX_BYTES
        assert content.startswith(b"file at ")
    if not options.include_cover_letters:
        assert all(document["type"] == "cv" for document in documents)


COMMON = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


@settings(COMMON, max_examples=1500)
@given(
    profile=PROFILE,
    cv_policy=st.sampled_from(["fail", "send_without"]),
    include_cover_letters=st.booleans(),
)
def test_any_profile_maps_to_a_valid_candidate_or_raises_mapping_error(
    profile: Any, cv_policy: Any, include_cover_letters: bool
) -> None:
    options = DocumentOptions(
        fetcher=fake_fetcher,
        max_bytes=MAX_BYTES,
        cv_policy=cv_policy,
        include_cover_letters=include_cover_letters,
    )
    _check(profile, options)


NAMED = st.fixed_dictionaries(
    {"full_name": st.text(min_size=1).filter(str.strip), "email": st.emails()},
    optional={"phone": TEXT, "location": LOCATION, "first_name": TEXT, "last_name": TEXT},
)


@settings(COMMON, max_examples=1000)
@given(
    info=NAMED,
    experiences=st.one_of(st.lists(EXPERIENCE, max_size=4), ANY_JSON),
    attachments=st.one_of(st.lists(ATTACHMENT, max_size=4), ANY_JSON),
)
def test_a_named_profile_with_an_email_always_maps_under_send_without(
    info: dict[str, Any], experiences: Any, attachments: Any
) -> None:
    """With a name and a valid email, only the CV policy may refuse a profile."""
    profile = {"key": "k" * 40, "info": info, "experiences": experiences, "attachments": attachments}
    options = DocumentOptions(fetcher=fake_fetcher, max_bytes=MAX_BYTES, cv_policy="send_without")

    with use_document_options(options):
        candidate = default_format(profile)

    assert candidate["email"] == info["email"]
    _check(profile, options)

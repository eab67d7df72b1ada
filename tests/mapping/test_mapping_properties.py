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
    max_leaves=4,
)
ODD_TEXT = st.sampled_from(
    ["", "  ", "Undefined", "undefined", "null", "None", "N/A", "e\u0301", "a\ud800b", "\t x \n"]
)
ODD = st.one_of(ODD_TEXT, ANY_JSON)


def sometimes_odd(plausible: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """The plausible value about three times in four, else an odd one (any JSON, placeholders)."""
    return st.one_of(plausible, plausible, plausible, ODD)


WORDS = st.sampled_from(["Ada", "Example", "Élodie", "Лев", "王芳", "Data Engineer", "Örsted A/S", " Lyon "])
TEXT = sometimes_odd(st.one_of(WORDS, st.text(max_size=15)))
# st.emails() is slow to draw; this builds addresses that pass the documented syntax check.
VALID_EMAIL = st.builds(
    "{}@{}".format,
    st.text(alphabet="abcXYZ019.+-_'éж", min_size=1, max_size=10),
    st.lists(st.text(alphabet="abcxyz09-éж", min_size=1, max_size=8), min_size=2, max_size=3).map(".".join),
)
EMAIL = sometimes_odd(
    st.one_of(
        VALID_EMAIL,
        st.sampled_from(
            ["ada@example.test", " ada@example.test ", "ada", "ada@", "a@b", "a@@b.c", "Ada <a@b.c>"]
        ),
    )
)
DATE = sometimes_odd(
    st.one_of(
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
            ]
        ),
        st.datetimes().map(lambda moment: moment.isoformat()),
        st.fixed_dictionaries({"iso8601": st.one_of(st.none(), st.datetimes().map(str), TEXT)}),
    )
)
NUMBER = sometimes_odd(
    st.one_of(
        st.floats(min_value=-90, max_value=90),
        st.floats(min_value=-90, max_value=90),
        st.integers(min_value=-200, max_value=200),
        st.sampled_from([0, 0.0, -0.0, "45.76", float("nan"), float("inf"), True, 10**400]),
    )
)
COUNTRY = sometimes_odd(st.sampled_from(["FR", "fra", "France", "UK", "United Kingdom", "Atlantis", "250"]))
FIELDS = sometimes_odd(
    st.one_of(
        st.just([]),
        st.fixed_dictionaries(
            {"city": TEXT, "country": COUNTRY},
            optional={
                "road": TEXT,
                "house_number": st.one_of(st.integers(), TEXT),
                "state": TEXT,
                "county": TEXT,
                "postcode": st.one_of(st.integers(), TEXT),
            },
        ),
    )
)
LOCATION = sometimes_odd(
    st.one_of(
        st.fixed_dictionaries({"text": TEXT, "lat": NUMBER, "lng": NUMBER, "fields": FIELDS}),
        st.fixed_dictionaries({"text": TEXT, "lat": NUMBER, "lng": NUMBER, "fields": FIELDS}),
        WORDS,
    )
)
INFO = sometimes_odd(
    st.fixed_dictionaries(
        {"full_name": TEXT, "email": EMAIL, "location": LOCATION},
        optional={"first_name": TEXT, "last_name": TEXT, "phone": TEXT},
    )
)
EXPERIENCE = sometimes_odd(
    st.fixed_dictionaries({"title": TEXT, "date_start": DATE, "date_end": DATE}, optional={"company": TEXT})
)
URL = sometimes_odd(
    st.sampled_from(["https://f.test/ok.pdf", "https://f.test/fail.pdf", "https://f.test/big.pdf", "  "])
)
ATTACHMENT = sometimes_odd(
    st.fixed_dictionaries(
        {
            "type": sometimes_odd(st.sampled_from(["original", "resume", "cover", "other", "Original"])),
            "public_url": URL,
        },
        optional={
            "file_name": TEXT,
            "original_file_name": TEXT,
            "extension": sometimes_odd(st.sampled_from([".pdf", "pdf", "", ".", "p d f"])),
        },
    )
)
EXPERIENCES = sometimes_odd(st.lists(EXPERIENCE, min_size=1, max_size=4) | st.just([]))
ATTACHMENTS = sometimes_odd(st.lists(ATTACHMENT, min_size=1, max_size=4) | st.just([]))
PROFILE = sometimes_odd(
    st.fixed_dictionaries(
        {"info": INFO, "experiences": EXPERIENCES, "attachments": ATTACHMENTS},
        optional={
            "key": sometimes_odd(st.text(alphabet="0123456789abcdef", min_size=40, max_size=40)),
        },
    )
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


@settings(COMMON, max_examples=1200)
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
    {
        "full_name": st.text(alphabet="Ada Éлев王", min_size=1, max_size=12).filter(str.strip),
        "email": VALID_EMAIL,
        "location": LOCATION,
    },
    optional={"phone": TEXT, "first_name": TEXT, "last_name": TEXT},
)


@settings(COMMON, max_examples=800)
@given(
    info=NAMED,
    experiences=EXPERIENCES,
    attachments=ATTACHMENTS,
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

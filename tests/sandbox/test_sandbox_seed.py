"""The seed data: enough realistic profiles, real small PDFs, and every odd shape the protocol lists."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from sandbox.config import SEED_DIR, SOURCE_KEY
from sandbox.make_seed import build_all, build_pdf

PROFILES = {
    path.name: json.loads(path.read_text(encoding="utf-8")) for path in (SEED_DIR / "profiles").glob("*.json")
}
FILES = SEED_DIR / "files"


def by_slug(slug: str) -> dict[str, Any]:
    return next(profile for name, profile in PROFILES.items() if name.endswith(f"-{slug}.json"))


def number_after(pattern: bytes, data: bytes) -> int:
    match = re.search(pattern, data)
    assert match is not None, pattern
    return int(match.group(1))


def check_pdf(data: bytes) -> None:
    """A PDF 1.4 whose xref offsets land on the objects they name and whose startxref is right."""
    assert data.startswith(b"%PDF-1.4\n") and data.endswith(b"%%EOF\n")
    startxref = number_after(rb"startxref\n(\d+)\n%%EOF\n$", data)
    assert data[startxref:].startswith(b"xref\n")
    entries = re.findall(rb"(\d{10}) 00000 n \n", data[startxref:])
    for number, offset in enumerate(entries, start=1):
        assert data[int(offset) :].startswith(f"{number} 0 obj\n".encode())
    length = number_after(rb"/Length (\d+) >>\nstream\n", data)
    stream_start = data.index(b"stream\n") + len(b"stream\n")
    assert data[stream_start + length :].startswith(b"endstream")


def test_seed_is_what_make_seed_writes() -> None:
    profiles, files = build_all()
    assert profiles == PROFILES
    assert {path.name: path.read_bytes() for path in FILES.iterdir()} == files


def test_enough_profiles_with_the_full_shape() -> None:
    assert len(PROFILES) >= 25
    keys = [p["key"] for p in PROFILES.values()]
    assert len(set(keys)) == len(keys) and all(re.fullmatch(r"[0-9a-f]{40}", k) for k in keys)
    for profile in PROFILES.values():
        assert profile["source"]["key"] == SOURCE_KEY
        assert {
            "full_name",
            "first_name",
            "last_name",
            "email",
            "phone",
            "date_birth",
            "urls",
            "summary",
            "location",
        } <= set(profile["info"])
        for name in ("experiences", "educations", "skills", "languages", "tags", "metadatas"):
            assert isinstance(profile[name], list)
        email = profile["info"]["email"]
        assert email in (None, "") or email.endswith(".test")
    created = [p["created_at"] for p in PROFILES.values()]
    updated = [p["updated_at"] for p in PROFILES.values()]
    assert len(set(created)) == len(created) - 1 and len(set(updated)) == len(updated) - 1


def test_every_attachment_points_at_a_small_real_pdf_of_the_declared_size() -> None:
    for profile in PROFILES.values():
        for attachment in profile["attachments"] or []:
            assert attachment["public_url"].startswith("{files}/")
            data = (FILES / attachment["public_url"].removeprefix("{files}/")).read_bytes()
            assert attachment["file_size"] == len(data) < 2048
            assert attachment["extension"] in (".pdf", "pdf")
            check_pdf(data)
    check_pdf(build_pdf("t", ["Zoë (test) \\ ok"]))


@pytest.mark.parametrize(
    ("slug", "check"),
    [
        ("tomasz-wierzbicki", lambda p: p["info"]["location"] is None),
        ("nora-lindqvist", lambda p: p["info"]["location"]["fields"] == []),
        ("bastien-roux", lambda p: p["info"]["location"]["fields"] is None),
        ("ingrid-solberg", lambda p: p["info"]["location"]["lat"] == "lat"),
        ("elodie-marchetti", lambda p: p["info"]["location"]["fields"]["country"] == "FRA"),
        ("jurgen-backlund", lambda p: p["info"]["location"]["fields"]["country"] == "Germany"),
        ("marcus-oyelaran", lambda p: "relocation" in p["info"]["location"]["fields"]["country"]),
        ("priya-raghunathan", lambda p: isinstance(p["info"]["urls"], dict)),
        ("ada-quellwater", lambda p: isinstance(p["info"]["urls"], list)),
        ("kofi-asante", lambda p: p["attachments"] is None),
        ("mateus-oliveira", lambda p: p["attachments"] == []),
        ("jean-luc-fontaine", lambda p: p["info"]["email"] is None),
        ("hana-novak", lambda p: p["info"]["email"] == ""),
        ("darya-lebedeva", lambda p: p["info"]["full_name"] == "Дарья Лебедева"),
        ("wang-fang", lambda p: p["info"]["full_name"] == "王芳"),
        ("siobhan-oconnell-byrne", lambda p: p["reference"] is None),
        ("amara-nwosu", lambda p: [a["type"] for a in p["attachments"]] == ["resume"]),
        (
            "ada-quellwater",
            lambda p: [a["type"] for a in p["attachments"]] == ["original", "resume", "cover"],
        ),
        (
            "lucia-ferreira",
            lambda p: (
                "original_file_name" not in p["attachments"][0]
                and "." not in p["attachments"][0]["file_name"]
            ),
        ),
    ],
)
def test_messy_shapes_are_present(slug: str, check: Any) -> None:
    assert check(by_slug(slug))


def test_every_date_form_is_present() -> None:
    dates = [e["date_start"] for e in by_slug("sofia-castellanos")["experiences"]]
    dates += [e["date_end"] for e in by_slug("sofia-castellanos")["experiences"]]
    texts = [d for d in dates if isinstance(d, str)]
    assert None in dates and any(isinstance(d, dict) and "iso8601" in d for d in dates)
    assert "1969-12-31T23:59:59" in texts
    assert any(d.endswith("Z") for d in texts) and any(d.endswith("+0000") for d in texts)
    assert any(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", d) for d in texts)


def test_seed_folder_holds_only_expected_files() -> None:
    assert {p.name for p in SEED_DIR.iterdir()} <= {"profiles", "files"}
    assert all(path.suffix == ".pdf" for path in FILES.iterdir())

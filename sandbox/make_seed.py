"""Regenerate the seed data: ``python -m sandbox.make_seed`` rewrites ``sandbox/seed/``.

The people are invented. E-mail addresses use ``.test`` domains, phone numbers come from ranges
reserved for fiction (UK 07700 900xxx, 020 7946 0xxx, 0113 496 0xxx, 0161 496 0xxx; US 555-01xx;
France 01 99 00 xx xx). Each profile has the shape of a parsed HrFlow profile; some carry, on
purpose, the odd shapes listed in docs/protocols.md (see ``MESSY`` for which is where). Each CV or
cover letter is a one-page PDF 1.4 written here without any library. The output is deterministic:
running the script twice gives the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

SEED_DIR = Path(__file__).resolve().parent / "seed"
SOURCE = {"key": "fa56957a3d5848d8e2427b97fae328c12655fb88", "name": "Sandbox careers site"}

LOCATION_FIELD_NAMES = (
    "category",
    "city",
    "city_district",
    "country",
    "country_region",
    "house_number",
    "postcode",
    "road",
    "state",
    "state_district",
    "suburb",
    "text",
)


# -- PDF ----------------------------------------------------------------------------------------------


def _pdf_text(text: str) -> bytes:
    """A PDF literal string in WinAnsi (cp1252) with the three special characters escaped."""
    out = bytearray(b"(")
    for byte in text.encode("cp1252", errors="replace"):
        if byte in b"()\\":
            out += b"\\" + bytes([byte])
        elif byte < 32 or byte > 126:
            out += f"\\{byte:03o}".encode("ascii")
        else:
            out.append(byte)
    return bytes(out + b")")


def _fits_winansi(text: str) -> bool:
    """Whether the built-in PDF fonts can show ``text`` (no Cyrillic or CJK without an embedded font)."""
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def build_pdf(title: str, lines: list[str]) -> bytes:
    """A valid one-page PDF 1.4 (Helvetica, WinAnsi) showing ``lines``, with a correct xref table."""
    stream = bytearray(b"BT\n/F1 16 Tf\n56 780 Td\n" + _pdf_text(lines[0]) + b" Tj\n/F1 11 Tf\n")
    for line in lines[1:]:
        stream += b"0 -18 Td\n" + _pdf_text(line) + b" Tj\n"
    stream += b"ET\n"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + bytes(stream) + b"endstream",
        b"<< /Title " + _pdf_text(title) + b" /Producer (broadbean sandbox seed) >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref_at = len(out)
    out += f"xref\n0 {len(objects) + 1}\n".encode() + b"0000000000 65535 f \n"
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 6 0 R >>\n".encode()
    out += f"startxref\n{xref_at}\n%%EOF\n".encode()
    return bytes(out)


# -- profile pieces -----------------------------------------------------------------------------------


def loc(text: str | None, lat: Any = None, lng: Any = None, **fields: Any) -> dict[str, Any]:
    """A location as HrFlow writes it, every field key present (``None`` when unknown)."""
    full: dict[str, Any] = {name: None for name in LOCATION_FIELD_NAMES}
    full.update(fields)
    full["text"] = text
    return {"text": text, "lat": lat, "lng": lng, "gmaps": None, "fields": full}


def iso_wrapped(value: str) -> dict[str, Any]:
    """The older ``{"iso8601": ..., "timestamp": ...}`` date form."""
    moment = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
    return {"iso8601": value, "timestamp": int(moment.timestamp())}


def experience(
    title: str, company: str, start: Any, end: Any, *, where: dict[str, Any] | None, skills: list[str]
) -> dict[str, Any]:
    """One ``experiences[]`` item."""
    return {
        "key": hashlib.sha1(f"{title}|{company}|{start}".encode()).hexdigest(),
        "title": title,
        "description": f"{title} at {company}.",
        "company": company,
        "logo": None,
        "date_start": start,
        "date_end": end,
        "location": where,
        "skills": [{"name": s, "type": "hard", "value": None} for s in skills],
        "tasks": [],
        "certifications": [],
        "courses": [],
        "interests": [],
        "languages": [],
    }


def education(title: str, school: str, start: Any, end: Any, where: dict[str, Any] | None) -> dict[str, Any]:
    """One ``educations[]`` item."""
    return {
        "key": hashlib.sha1(f"{title}|{school}|{start}".encode()).hexdigest(),
        "title": title,
        "description": None,
        "school": school,
        "logo": None,
        "date_start": start,
        "date_end": end,
        "location": where,
        "skills": [],
        "tasks": [],
        "certifications": [],
        "courses": [],
        "interests": [],
        "languages": [],
    }


def urls_list(slug: str, *kinds: str) -> list[dict[str, str]]:
    """The current ``urls`` form: a list of ``{type, url}``."""
    hosts = {
        "linkedin": "linkedin.example.test/in",
        "github": "git.example.test",
        "twitter": "social.example.test",
    }
    return [{"type": kind, "url": f"https://{hosts[kind]}/{slug}"} for kind in kinds]


def urls_object(slug: str) -> dict[str, Any]:
    """The older ``urls`` form: an object keyed by site."""
    return {
        "from_resume": [f"https://portfolio.example.test/{slug}"],
        "linkedin": f"https://linkedin.example.test/in/{slug}",
        "twitter": None,
        "facebook": None,
        "github": f"https://git.example.test/{slug}",
    }


# -- the people ---------------------------------------------------------------------------------------

LONDON = loc(
    "12 Harrow Lane, London E1 6AN",
    51.5203,
    -0.075,
    city="London",
    country="GBR",
    postcode="E1 6AN",
    road="Harrow Lane",
    house_number="12",
    state="England",
)

PEOPLE: list[dict[str, Any]] = [
    {
        "slug": "ada-quellwater",
        "first": "Ada",
        "last": "Quellwater",
        "title": "Data Engineer",
        "phone": "+44 7700 900123",
        "birth": "1991-04-12T00:00:00+0000",
        "location": LONDON,
        "urls": ["linkedin", "github"],
        "cover": True,
        "experiences": [
            ("Data Engineer", "Quillfeather Systems Ltd", "2021-03-01T00:00:00", None, "London"),
            ("BI Developer", "Brightwater Logistics", "2017-09-01T00:00:00", "2021-02-28T00:00:00", "Leeds"),
        ],
        "education": (
            "MSc Data Science",
            "University of Westmarch",
            "2015-09-01T00:00:00",
            "2016-09-30T00:00:00",
        ),
        "skills": ["python", "sql", "airflow", "dbt", "communication"],
        "languages": ["english", "french"],
    },
    {
        "slug": "elodie-marchetti",
        "first": "Élodie",
        "last": "Marchetti",
        "title": "Product Designer",
        "phone": "+33 1 99 00 12 34",
        "birth": "1993-07-21T00:00:00+0000",
        "location": loc(
            "8 rue des Tanneurs, 69002 Lyon",
            45.7578,
            4.832,
            city="Lyon",
            country="FRA",
            postcode="69002",
            road="rue des Tanneurs",
            house_number="8",
            state="Auvergne-Rhône-Alpes",
        ),
        "urls": ["linkedin"],
        "cover": True,
        "original_file_name": "Élodie_Marchetti_CV.pdf",
        "experiences": [
            ("Product Designer", "Atelier Lumière SAS", "2020-01-06T00:00:00+0000", None, "Lyon"),
            (
                "UX Designer",
                "Studio Pivoine",
                "2016-10-01T00:00:00+0000",
                "2019-12-20T00:00:00+0000",
                "Grenoble",
            ),
        ],
        "education": (
            "Master Design d'interaction",
            "École de design de Rhône",
            "2014-09-01T00:00:00",
            "2016-06-30T00:00:00",
        ),
        "skills": ["figma", "user research", "prototyping", "design systems"],
        "languages": ["french", "english"],
    },
    {
        "slug": "jurgen-backlund",
        "first": "Jürgen",
        "last": "Bäcklund",
        "title": "Backend Developer",
        "phone": "+44 7700 900412",
        "birth": "1987-02-02T00:00:00",
        "location": loc(
            "Lindenallee 41, 20259 Hamburg",
            53.5753,
            9.9597,
            city="Hamburg",
            country="Germany",
            postcode="20259",
            road="Lindenallee",
            house_number="41",
            state="Hamburg",
        ),
        "urls": ["github"],
        "experiences": [
            ("Senior Backend Developer", "Nordhafen Software GmbH", "2019-05-01T00:00:00Z", None, "Hamburg"),
            (
                "Software Developer",
                "Elbwerk Digital",
                "2013-08-01T00:00:00Z",
                "2019-04-30T00:00:00Z",
                "Bremen",
            ),
        ],
        "education": (
            "Diplom Informatik",
            "Technische Hochschule Nordmark",
            "2007-10-01T00:00:00",
            "2013-07-31T00:00:00",
        ),
        "skills": ["go", "kotlin", "postgresql", "kafka"],
        "languages": ["german", "english", "swedish"],
    },
    {
        "slug": "darya-lebedeva",
        "first": "Дарья",
        "last": "Лебедева",
        "pdf_name": "Darya Lebedeva",
        "title": "QA Engineer",
        "phone": "+44 20 7946 0381",
        "birth": None,
        "location": loc(
            "Tallinn, Harju maakond", 59.437, 24.7536, city="Tallinn", country="EST", state="Harju maakond"
        ),
        "urls": ["linkedin"],
        "original_file_name": "Лебедева_резюме.pdf",
        "experiences": [
            ("QA Engineer", "Балтик Софт", "2020-02-01T00:00:00", None, "Tallinn"),
            ("Тестировщик", "Северный Код", "2016-06-01T00:00:00", "2020-01-31T00:00:00", "Saint Petersburg"),
        ],
        "education": (
            "Бакалавр прикладной математики",
            "Северо-Западный университет",
            "2012-09-01T00:00:00",
            "2016-06-30T00:00:00",
        ),
        "skills": ["selenium", "pytest", "test automation"],
        "languages": ["russian", "estonian", "english"],
    },
    {
        "slug": "wang-fang",
        "first": "芳",
        "last": "王",
        "full": "王芳",
        "pdf_name": "Wang Fang",
        "title": "Data Scientist",
        "phone": "+1 415-555-0168",
        "birth": "1994-09-30T00:00:00+0000",
        "location": loc(
            "Tanjong Pagar, Singapore 088539",
            1.2764,
            103.8458,
            city="Singapore",
            country="Singapore",
            postcode="088539",
            suburb="Tanjong Pagar",
        ),
        "urls": ["linkedin", "github"],
        "original_file_name": "王芳_简历.pdf",
        "experiences": [
            ("Data Scientist", "Lion City Analytics Pte Ltd", "2021-07-01T00:00:00", None, "Singapore"),
            ("数据分析师", "青松数据科技", "2017-07-01T00:00:00", "2021-06-30T00:00:00", "Shenzhen"),
        ],
        "education": (
            "MSc Statistics",
            "Straits Institute of Technology",
            "2015-08-01T00:00:00",
            "2017-05-31T00:00:00",
        ),
        "skills": ["python", "pytorch", "statistics", "sql"],
        "languages": ["mandarin", "english"],
    },
    {
        "slug": "sato-ken",
        "first": "健",
        "last": "佐藤",
        "full": "佐藤 健",
        "pdf_name": "Ken Sato",
        "title": "Embedded Software Engineer",
        "phone": "+44 113 496 0712",
        "birth": "1989-12-01T00:00:00+0000",
        "location": loc(
            "大阪市北区梅田 3-1",
            34.7025,
            135.4959,
            city="大阪市",
            country="JPN",
            postcode="530-0001",
            state="大阪府",
        ),
        "urls": [],
        "experiences": [
            ("組込みソフトウェアエンジニア", "浪速精機株式会社", "2015-04-01T00:00:00+0000", None, "Osaka"),
        ],
        "education": ("工学修士", "関西工科大学", "2013-04-01T00:00:00", "2015-03-31T00:00:00"),
        "skills": ["c", "c++", "rtos", "can bus"],
        "languages": ["japanese", "english"],
    },
    {
        "slug": "tomasz-wierzbicki",
        "first": "Tomasz",
        "last": "Wierzbicki",
        "title": "DevOps Engineer",
        "phone": "+44 7700 900775",
        "birth": "1990-05-17T00:00:00+0000",
        "location": None,
        "urls": ["github"],
        "experiences": [
            ("DevOps Engineer", "Vistula Cloud Sp. z o.o.", "2018-11-01T00:00:00", None, "Kraków"),
        ],
        "education": (
            "Inżynier Informatyki",
            "Politechnika Nadwiślańska",
            "2010-10-01T00:00:00",
            "2014-02-28T00:00:00",
        ),
        "skills": ["kubernetes", "terraform", "aws", "linux"],
        "languages": ["polish", "english"],
    },
    {
        "slug": "nora-lindqvist",
        "first": "Nora",
        "last": "Lindqvist",
        "title": "Technical Writer",
        "phone": "+44 161 496 0234",
        "birth": None,
        "location": {"text": "Remote", "lat": None, "lng": None, "gmaps": None, "fields": []},
        "urls": ["linkedin"],
        "experiences": [
            ("Technical Writer", "Fjällbacka Docs AB", "2019-03-01T00:00:00", None, None),
        ],
        "education": (
            "BA Linguistics",
            "Uppsala Östra högskola",
            "2012-08-20T00:00:00",
            "2015-06-10T00:00:00",
        ),
        "skills": ["technical writing", "markdown", "docs as code"],
        "languages": ["swedish", "english"],
    },
    {
        "slug": "bastien-roux",
        "first": "Bastien",
        "last": "Roux",
        "title": "Mobile Developer",
        "phone": "+33 1 99 00 45 67",
        "birth": "1995-01-09T00:00:00+0000",
        "location": {"text": "Nantes", "lat": 47.2184, "lng": -1.5536, "gmaps": None, "fields": None},
        "urls": ["github", "twitter"],
        "experiences": [
            ("Développeur mobile", "Loire Applis", "2019-09-02T00:00:00", None, "Nantes"),
        ],
        "education": (
            "Licence Informatique",
            "Université de l'Estuaire",
            "2014-09-01T00:00:00",
            "2017-06-30T00:00:00",
        ),
        "skills": ["swift", "kotlin", "flutter"],
        "languages": ["french", "english"],
    },
    {
        "slug": "ingrid-solberg",
        "first": "Ingrid",
        "last": "Solberg",
        "title": "Site Reliability Engineer",
        "phone": "+44 7700 900318",
        "birth": "1988-08-08T00:00:00+0000",
        "location": {
            "text": "Oslo",
            "lat": "lat",
            "lng": "lng",
            "gmaps": None,
            "fields": {
                "city": "Oslo",
                "country": "Norway",
                "postcode": None,
                "state": None,
                "road": None,
                "house_number": None,
            },
        },
        "urls": ["linkedin"],
        "experiences": [
            ("Site Reliability Engineer", "Fjordline Data AS", "2017-01-09T00:00:00", None, "Oslo"),
        ],
        "education": (
            "MSc Computer Science",
            "Vestland tekniske universitet",
            "2010-08-15T00:00:00",
            "2015-06-15T00:00:00",
        ),
        "skills": ["prometheus", "python", "incident response"],
        "languages": ["norwegian", "english"],
    },
    {
        "slug": "marcus-oyelaran",
        "first": "Marcus",
        "last": "Oyelaran",
        "title": "Solutions Architect",
        "phone": "+1 202-555-0117",
        "birth": "1984-03-27T00:00:00+0000",
        "location": loc(
            "open to relocation, anywhere in the EU",
            None,
            None,
            country="somewhere in the EU, open to relocation",
        ),
        "urls": ["linkedin"],
        "experiences": [
            ("Solutions Architect", "Meridian Integrations", "2016-02-01T00:00:00", None, None),
            (
                "Integration Developer",
                "Harbourgate Systems",
                "2010-06-01T00:00:00",
                "2016-01-31T00:00:00",
                "Bristol",
            ),
        ],
        "education": (
            "BSc Software Engineering",
            "Kingsbridge University",
            "2002-09-01T00:00:00",
            "2005-07-01T00:00:00",
        ),
        "skills": ["solution architecture", "java", "azure", "stakeholder management"],
        "languages": ["english"],
    },
    {
        "slug": "priya-raghunathan",
        "first": "Priya",
        "last": "Raghunathan",
        "title": "Machine Learning Engineer",
        "phone": "+44 161 496 0871",
        "birth": "1992-10-14T00:00:00+0000",
        "location": loc(
            "45 Cotton Street, Manchester M4 5BA",
            53.4839,
            -2.2364,
            city="Manchester",
            country="GBR",
            postcode="M4 5BA",
            road="Cotton Street",
            house_number="45",
            state="England",
        ),
        "urls": "object",
        "experiences": [
            ("Machine Learning Engineer", "Ironbridge AI Ltd", "2020-04-01T00:00:00", None, "Manchester"),
            (
                "Research Assistant",
                "University of Pennine",
                "2017-10-01T00:00:00",
                "2020-03-31T00:00:00",
                "Manchester",
            ),
        ],
        "education": (
            "PhD Machine Learning",
            "University of Pennine",
            "2014-10-01T00:00:00",
            "2018-09-30T00:00:00",
        ),
        "skills": ["python", "tensorflow", "mlops", "nlp"],
        "languages": ["english", "tamil", "hindi"],
    },
    {
        "slug": "sofia-castellanos",
        "first": "Sofía",
        "last": "Castellanos",
        "title": "Full-stack Developer",
        "phone": "+44 20 7946 0555",
        "birth": iso_wrapped("1990-06-05T00:00:00+0000"),
        "location": loc(
            "Calle del Olmo 7, 28012 Madrid",
            40.4106,
            -3.7005,
            city="Madrid",
            country="ESP",
            postcode="28012",
            road="Calle del Olmo",
            house_number="7",
            state="Comunidad de Madrid",
        ),
        "urls": ["github"],
        "cover": True,
        "experiences": [
            (
                "Full-stack Developer",
                "Castilla Web S.L.",
                "2022-02-01T00:00:00Z",
                "1969-12-31T23:59:59",
                "Madrid",
            ),
            (
                "Frontend Developer",
                "Ola Digital",
                iso_wrapped("2019-03-01T00:00:00+0000"),
                iso_wrapped("2022-01-31T00:00:00+0000"),
                "Valencia",
            ),
            (
                "Junior Developer",
                "Puerta Soft",
                "2017-06-01T00:00:00+0000",
                "2019-02-28T00:00:00+0000",
                "Madrid",
            ),
            ("Intern", "Laboratorio Abierto", "2016-01-01T00:00:00", "2016-06-30T00:00:00", None),
            ("Freelance web work", "Self-employed", None, None, None),
        ],
        "education": (
            "Grado en Ingeniería Informática",
            "Universidad del Manzanares",
            "2012-09-01T00:00:00Z",
            "2016-06-30T00:00:00Z",
        ),
        "skills": ["typescript", "react", "node.js", "postgresql"],
        "languages": ["spanish", "english", "catalan"],
    },
    {
        "slug": "kofi-asante",
        "first": "Kofi",
        "last": "Asante",
        "title": "Network Engineer",
        "phone": "+44 113 496 0029",
        "birth": "1986-11-19T00:00:00+0000",
        "location": loc(
            "Headrow House, Leeds LS1 8EQ",
            53.7997,
            -1.5492,
            city="Leeds",
            country="United Kingdom",
            postcode="LS1 8EQ",
            road="The Headrow",
            state="England",
        ),
        "urls": ["linkedin"],
        "attachments": None,
        "experiences": [
            ("Network Engineer", "Aire Valley Telecom", "2014-05-01T00:00:00", None, "Leeds"),
        ],
        "education": (
            "BEng Electronic Engineering",
            "University of Calder",
            "2005-09-01T00:00:00",
            "2008-07-01T00:00:00",
        ),
        "skills": ["cisco", "bgp", "network security"],
        "languages": ["english", "twi"],
    },
    {
        "slug": "jean-luc-fontaine",
        "first": "Jean-Luc",
        "last": "Fontaine",
        "title": "Sales Engineer",
        "email": None,
        "phone": "",
        "birth": None,
        "location": loc(
            "Bordeaux", 44.8378, -0.5792, city="Bordeaux", country="France", state="Nouvelle-Aquitaine"
        ),
        "urls": [],
        "experiences": [
            ("Ingénieur commercial", "Garonne Industrie", "2015-09-01T00:00:00", None, "Bordeaux"),
        ],
        "education": (
            "Diplôme d'ingénieur",
            "École des Mines de l'Ouest",
            "2009-09-01T00:00:00",
            "2012-06-30T00:00:00",
        ),
        "skills": ["pre-sales", "erp", "negotiation"],
        "languages": ["french", "english"],
    },
    {
        "slug": "hana-novak",
        "first": "Hana",
        "last": "Nováková",
        "title": "Scrum Master",
        "email": "",
        "phone": "+44 7700 900990",
        "birth": "1985-01-30T00:00:00+0000",
        "location": loc(
            "Praha 2, Vinohrady", 50.0755, 14.4378, city="Praha", country="CZE", suburb="Vinohrady"
        ),
        "urls": ["linkedin"],
        "experiences": [
            ("Scrum Master", "Vltava Agile s.r.o.", "2018-01-01T00:00:00", None, "Praha"),
        ],
        "education": (
            "Mgr. Economics",
            "Univerzita Karlova Nova",
            "2004-10-01T00:00:00",
            "2009-06-30T00:00:00",
        ),
        "skills": ["scrum", "kanban", "coaching"],
        "languages": ["czech", "english", "german"],
    },
    {
        "slug": "lucia-ferreira",
        "first": "Lúcia",
        "last": "Ferreira",
        "title": "Cloud Engineer",
        "phone": "+44 20 7946 0917",
        "birth": "1993-03-03T00:00:00+0000",
        "location": loc(
            "Rua das Flores 22, 1200-195 Lisboa",
            38.7107,
            -9.1435,
            city="Lisboa",
            country="Portugal",
            postcode="1200-195",
            road="Rua das Flores",
            house_number="22",
        ),
        "urls": ["linkedin"],
        "attachments": "bare_original",
        "experiences": [
            ("Cloud Engineer", "Tejo Cloud Lda", "2020-10-01T00:00:00", None, "Lisboa"),
        ],
        "education": (
            "Mestrado em Engenharia Informática",
            "Universidade Atlântica",
            "2015-09-15T00:00:00",
            "2020-07-15T00:00:00",
        ),
        "skills": ["gcp", "terraform", "python"],
        "languages": ["portuguese", "english", "spanish"],
    },
    {
        "slug": "mateus-oliveira",
        "first": "Mateus",
        "last": "Oliveira",
        "title": "Data Analyst",
        "phone": "+1 305-555-0190",
        "birth": "1997-07-07T00:00:00+0000",
        "location": loc(
            "Avenida Paulista 1000, São Paulo",
            -23.5614,
            -46.6559,
            city="São Paulo",
            country="BRA",
            road="Avenida Paulista",
            house_number="1000",
            state="São Paulo",
        ),
        "urls": ["github"],
        "attachments": [],
        "experiences": [
            ("Analista de Dados", "Paulista Insights Ltda", "2021-01-11T00:00:00", None, "São Paulo"),
        ],
        "education": (
            "Bacharelado em Estatística",
            "Universidade do Planalto",
            "2015-02-01T00:00:00",
            "2019-12-15T00:00:00",
        ),
        "skills": ["sql", "power bi", "python"],
        "languages": ["portuguese", "english"],
    },
    {
        "slug": "amara-nwosu",
        "first": "Amara",
        "last": "Nwosu",
        "title": "Security Analyst",
        "phone": "+44 7700 900057",
        "birth": "1992-02-29T00:00:00+0000",
        "location": loc(
            "Victoria Island, Lagos",
            6.4281,
            3.4219,
            city="Lagos",
            country="Nigeria",
            suburb="Victoria Island",
            state="Lagos",
        ),
        "urls": ["linkedin"],
        "attachments": "resume_only",
        "experiences": [
            ("Security Analyst", "Lagoon Secure Ltd", "2019-06-03T00:00:00", None, "Lagos"),
        ],
        "education": (
            "BSc Computer Science",
            "Atlantic Coast University",
            "2010-09-01T00:00:00",
            "2014-07-31T00:00:00",
        ),
        "skills": ["siem", "threat hunting", "iso 27001"],
        "languages": ["english", "igbo"],
    },
    {
        "slug": "siobhan-oconnell-byrne",
        "first": "Siobhán",
        "last": "O'Connell-Byrne",
        "title": "Frontend Engineer",
        "phone": "+44 7700 900664",
        "birth": "1996-12-24T00:00:00+0000",
        "location": loc("Dublin 8", 53.3389, -6.2807, city="Dublin", country="IRL", postcode="D08"),
        "urls": ["linkedin", "github"],
        "reference": None,
        "experiences": [
            ("Frontend Engineer", "Liffey Labs", "2021-09-01T00:00:00", None, "Dublin"),
        ],
        "education": (
            "BSc Computing",
            "Dublin Institute of Design",
            "2015-09-01T00:00:00",
            "2019-05-31T00:00:00",
        ),
        "skills": ["vue", "css", "accessibility"],
        "languages": ["english", "irish"],
    },
    {
        "slug": "chen-wei-lin",
        "first": "偉霖",
        "last": "陳",
        "full": "陳偉霖",
        "pdf_name": "Chen Wei-Lin",
        "title": "Hardware Engineer",
        "phone": "+1 646-555-0133",
        "birth": "1990-10-10T00:00:00+0000",
        "location": loc("台北市信義區", 25.033, 121.5654, city="台北市", country="Taiwan", suburb="信義區"),
        "urls": ["linkedin"],
        "experiences": [
            ("硬體工程師", "寶島電子股份有限公司", "2016-08-01T00:00:00", None, "Taipei"),
        ],
        "education": ("電機工程碩士", "北台灣科技大學", "2014-09-01T00:00:00", "2016-06-30T00:00:00"),
        "skills": ["pcb design", "fpga", "verilog"],
        "languages": ["mandarin", "english"],
    },
    {
        "slug": "karin-van-der-berg",
        "first": "Karin",
        "last": "van der Berg",
        "title": "Product Manager",
        "phone": "+44 20 7946 0248",
        "birth": "1983-05-05T00:00:00+0000",
        "location": {
            "text": "Utrecht",
            "lat": 52.0907,
            "lng": None,
            "gmaps": None,
            "fields": {
                "city": "Utrecht",
                "country": "Netherlands",
                "postcode": "3511",
                "state": "Utrecht",
                "road": None,
                "house_number": None,
            },
        },
        "urls": ["linkedin"],
        "cover": True,
        "experiences": [
            ("Product Manager", "Domstad Software B.V.", "2017-04-01T00:00:00", None, "Utrecht"),
            (
                "Business Analyst",
                "Grachtenbank N.V.",
                "2009-09-01T00:00:00",
                "2017-03-31T00:00:00",
                "Amsterdam",
            ),
        ],
        "education": (
            "MSc Business Informatics",
            "Universiteit van de Vecht",
            "2006-09-01T00:00:00",
            "2008-08-31T00:00:00",
        ),
        "skills": ["roadmapping", "discovery", "sql"],
        "languages": ["dutch", "english", "german"],
    },
    {
        "slug": "rafael-dominguez",
        "first": "Rafael",
        "last": "Domínguez",
        "title": "Database Administrator",
        "phone": "",
        "birth": "1979-09-15T00:00:00",
        "location": loc("Sevilla", 37.3891, -5.9845, city="Sevilla", country="ESP", state="Andalucía"),
        "urls": [],
        "experiences": [
            ("DBA", "Guadalquivir Datos S.A.", "2008-01-07T00:00:00", None, "Sevilla"),
        ],
        "education": (
            "Ingeniería Técnica Informática",
            "Universidad de Triana",
            "1997-10-01T00:00:00",
            "2001-06-30T00:00:00",
        ),
        "skills": ["oracle", "postgresql", "backup"],
        "languages": ["spanish", "english"],
    },
    {
        "slug": "fatima-zahra-el-amrani",
        "first": "Fatima Zahra",
        "last": "El Amrani",
        "title": "HR Analyst",
        "phone": "+33 1 99 00 78 90",
        "birth": "1994-04-04T00:00:00+0000",
        "location": loc(
            "Boulevard d'Anfa, Casablanca",
            33.5898,
            -7.6321,
            city="Casablanca",
            country="MAR",
            road="Boulevard d'Anfa",
            state="Casablanca-Settat",
        ),
        "urls": [],
        "experiences": [
            ("HR Analyst", "Atlas Ressources SARL", "2019-02-01T00:00:00", None, "Casablanca"),
        ],
        "education": ("Master RH", "Université Hassan Océan", "2016-09-01T00:00:00", "2018-07-01T00:00:00"),
        "skills": ["hris", "people analytics", "excel"],
        "languages": ["arabic", "french", "english"],
    },
    {
        "slug": "owen-pritchard",
        "first": "Owen",
        "last": "Pritchard",
        "title": "Support Engineer",
        "phone": "+44 7700 900301",
        "birth": "1998-06-30T00:00:00+0000",
        "location": loc(
            "Cathedral Road, Cardiff CF11 9LJ",
            51.4876,
            -3.1913,
            city="Cardiff",
            country="GB",
            postcode="CF11 9LJ",
            road="Cathedral Road",
            state="Wales",
        ),
        "urls": ["linkedin"],
        "cover": True,
        "experiences": [
            ("Support Engineer", "Taff Valley Software", "2020-07-01T00:00:00", None, "Cardiff"),
        ],
        "education": ("HND Computing", "Cardiff Bay College", "2016-09-01T00:00:00", "2018-06-30T00:00:00"),
        "skills": ["zendesk", "sql", "bash"],
        "languages": ["english", "welsh"],
    },
    {
        "slug": "emily-carter",
        "first": "Emily",
        "last": "Carter",
        "title": "Engineering Manager",
        "phone": "+1 617-555-0142",
        "birth": "1982-01-18T00:00:00+0000",
        "location": loc(
            "200 Harbor Street, Boston, MA 02210",
            42.3496,
            -71.0417,
            city="Boston",
            country="USA",
            postcode="02210",
            road="Harbor Street",
            house_number="200",
            state="Massachusetts",
        ),
        "urls": ["linkedin", "github"],
        "experiences": [
            ("Engineering Manager", "Beacon Hill Robotics Inc.", "2018-03-05T00:00:00", None, "Boston"),
            (
                "Staff Engineer",
                "Charles River Systems",
                "2010-07-01T00:00:00",
                "2018-02-28T00:00:00",
                "Cambridge",
            ),
        ],
        "education": (
            "BS Computer Engineering",
            "Commonwealth Institute",
            "2000-09-01T00:00:00",
            "2004-05-31T00:00:00",
        ),
        "skills": ["leadership", "hiring", "python", "robotics"],
        "languages": ["english"],
    },
    {
        "slug": "aleksandr-volkov",
        "first": "Александр",
        "last": "Волков",
        "pdf_name": "Aleksandr Volkov",
        "title": "Java Developer",
        "phone": "+44 113 496 0444",
        "birth": "1989-07-19T00:00:00+0000",
        "location": loc("Rīga, Latvija", 56.9496, 24.1052, city="Rīga", country="Latvia"),
        "urls": ["github"],
        "experiences": [
            ("Java Developer", "Daugava Tech SIA", "2017-11-01T00:00:00", None, "Rīga"),
        ],
        "education": (
            "Магистр информатики",
            "Балтийский технический университет",
            "2007-09-01T00:00:00",
            "2013-06-30T00:00:00",
        ),
        "skills": ["java", "spring", "microservices"],
        "languages": ["russian", "latvian", "english"],
    },
    {
        "slug": "yasmin-haddad",
        "first": "Yasmin",
        "last": "Haddad",
        "title": "Growth Marketer",
        "phone": "+33 1 99 00 23 45",
        "birth": "1995-11-11T00:00:00+0000",
        "location": loc(
            "Quai du Port, 13002 Marseille",
            43.2965,
            5.3698,
            city="Marseille",
            country="France",
            postcode="13002",
            road="Quai du Port",
            state="Provence-Alpes-Côte d'Azur",
        ),
        "urls": ["linkedin", "twitter"],
        "summary": "Growth marketer 🚀 who likes experiments, clean funnels and café crème.",
        "experiences": [
            ("Growth Marketer", "Calanques Media", "2020-03-02T00:00:00", None, "Marseille"),
        ],
        "education": (
            "Master Marketing digital",
            "Institut Méditerranée",
            "2016-09-01T00:00:00",
            "2018-06-30T00:00:00",
        ),
        "skills": ["seo", "a/b testing", "analytics"],
        "languages": ["french", "arabic", "english"],
    },
]

# Profiles whose created_at (or updated_at) is equal on purpose, so sorting ties are exercised.
CREATED_TIES = (("ingrid-solberg", "marcus-oyelaran"),)
UPDATED_TIES = (("ada-quellwater", "elodie-marchetti"),)

MESSY = {
    "info.location null": ["tomasz-wierzbicki"],
    "location.fields []": ["nora-lindqvist"],
    "location.fields null": ["bastien-roux"],
    "lat/lng junk strings": ["ingrid-solberg"],
    "lat number, lng null": ["karin-van-der-berg"],
    "country ISO-3": [
        "elodie-marchetti",
        "darya-lebedeva",
        "sato-ken",
        "sofia-castellanos",
        "lucia-ferreira",
    ],
    "country name": ["jurgen-backlund", "wang-fang", "kofi-asante", "jean-luc-fontaine"],
    "country free text": ["marcus-oyelaran"],
    "urls object form": ["priya-raghunathan"],
    "all date forms": ["sofia-castellanos"],
    "attachments null": ["kofi-asante"],
    "attachments []": ["mateus-oliveira"],
    "resume only, no original": ["amara-nwosu"],
    "original file_name without extension, no original_file_name": ["lucia-ferreira"],
    "email null": ["jean-luc-fontaine"],
    "email empty": ["hana-novak"],
    "reference null": ["siobhan-oconnell-byrne"],
    "Cyrillic name": ["darya-lebedeva", "aleksandr-volkov"],
    "CJK name": ["wang-fang", "sato-ken", "chen-wei-lin"],
    "emoji in summary": ["yasmin-haddad"],
}


# -- assembling -----------------------------------------------------------------------------------------


def _when(index: int) -> tuple[datetime, datetime]:
    """created_at and updated_at spread over four weeks, deterministic and distinct."""
    start = datetime(2026, 4, 6, 8, 14, 3, tzinfo=timezone.utc)
    created = start + timedelta(hours=index * 25 + (index * 37) % 11, minutes=(index * 53) % 60)
    updated = created + timedelta(hours=(index * 7) % 30 + 1, minutes=(index * 17) % 60, seconds=index)
    return created, updated


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+0000")


def _documents(person: dict[str, Any], full_name: str, email: str | None) -> dict[str, bytes]:
    name = person.get("pdf_name", full_name)
    body = [
        person["title"],
        f"E-mail: {email}" if email else "E-mail: not given",
        f"Phone: {person['phone']}" if person.get("phone") else "Phone: not given",
    ]
    body += [line for line in (f"{t} - {c}" for t, c, *_ in person["experiences"]) if _fits_winansi(line)][:3]
    footer = "Sandbox test document: an invented person, not a real CV."
    slug = person["slug"]
    docs = {
        f"{slug}-original.pdf": build_pdf(f"CV {name}", [name, *body, "Original upload", footer]),
        f"{slug}-resume.pdf": build_pdf(f"CV {name}", [name, *body, "Parsed copy (resume)", footer]),
    }
    if person.get("cover"):
        letter = [
            f"Cover letter - {name}",
            "Dear hiring manager,",
            f"I would like to apply for a {person['title']} role.",
            "Kind regards,",
            name,
            footer,
        ]
        docs[f"{slug}-cover.pdf"] = build_pdf(f"Cover letter {name}", letter)
    return docs


def _attachment(
    kind: str, file_name: str, original: str | None, extension: str, *, url_name: str, size: int, created: str
) -> dict[str, Any]:
    """One ``attachments[]`` item; ``original=None`` leaves ``original_file_name`` out."""
    item: dict[str, Any] = {
        "type": kind,
        "alt": url_name.removesuffix(".pdf"),
        "file_size": size,
        "file_name": file_name,
        "original_file_name": original,
        "extension": extension,
        "public_url": "{files}/" + url_name,
        "created_at": created,
        "updated_at": created,
    }
    if original is None:
        del item["original_file_name"]
    return item


def build_profile(index: int, person: dict[str, Any], docs: dict[str, bytes]) -> dict[str, Any]:
    """The full HrFlow profile of one person."""
    slug = person["slug"]
    first, last = person["first"], person["last"]
    full_name = person.get("full", f"{first} {last}")
    email = person.get("email", f"{slug.replace('-', '.')}@example.test")
    created, updated = _when(index)
    created_s, updated_s = _stamp(created), _stamp(updated)

    urls = person.get("urls", [])
    urls_value = urls_object(slug) if urls == "object" else urls_list(slug, *urls)
    where = {
        text: loc(text, None, None, city=text) for *_, text in person["experiences"] if isinstance(text, str)
    }
    experiences = [
        experience(
            title, company, start, end, where=where.get(city) if city else None, skills=person["skills"][:2]
        )
        for title, company, start, end, city in person["experiences"]
    ]
    e_title, e_school, e_start, e_end = person["education"]
    educations = [education(e_title, e_school, e_start, e_end, None)]

    pretty = (person.get("pdf_name") or full_name).replace(" ", "_")
    original_name = person.get("original_file_name", f"{pretty}_CV.pdf")
    size = {name: len(data) for name, data in docs.items()}
    mode = person.get("attachments", "normal")
    attachments: list[dict[str, Any]] | None
    if mode is None:
        attachments = None
    elif mode == []:
        attachments = []
    elif mode == "bare_original":
        attachments = [
            _attachment(
                "original",
                f"{slug.replace('-', '_')}_cv",
                None,
                ".pdf",
                url_name=f"{slug}-original.pdf",
                size=size[f"{slug}-original.pdf"],
                created=created_s,
            ),
        ]
    elif mode == "resume_only":
        attachments = [
            _attachment(
                "resume",
                "resume",
                original_name,
                "pdf",
                url_name=f"{slug}-resume.pdf",
                size=size[f"{slug}-resume.pdf"],
                created=created_s,
            ),
        ]
    else:
        file_name = "original" if index % 4 else f"{pretty.lower()}_cv.pdf"
        attachments = [
            _attachment(
                "original",
                file_name,
                original_name,
                ".pdf",
                url_name=f"{slug}-original.pdf",
                size=size[f"{slug}-original.pdf"],
                created=created_s,
            ),
            _attachment(
                "resume",
                "resume",
                original_name,
                "pdf" if index % 2 else ".pdf",
                url_name=f"{slug}-resume.pdf",
                size=size[f"{slug}-resume.pdf"],
                created=created_s,
            ),
        ]
        if person.get("cover"):
            attachments.append(
                _attachment(
                    "cover",
                    "cover",
                    f"Cover_letter_{pretty}.pdf",
                    ".pdf",
                    url_name=f"{slug}-cover.pdf",
                    size=size[f"{slug}-cover.pdf"],
                    created=created_s,
                )
            )

    summary = person.get("summary", f"{person['title']} with experience at {person['experiences'][0][1]}.")
    text_lines = [full_name, person["title"], summary] + [f"{t} - {c}" for t, c, *_ in person["experiences"]]
    return {
        "key": hashlib.sha1(f"broadbean-sandbox:{slug}".encode()).hexdigest(),
        "reference": person.get("reference", f"CAND-{1001 + index}"),
        "archived_at": None,
        "created_at": created_s,
        "updated_at": updated_s,
        "source": dict(SOURCE),
        "consent_algorithmic": {
            "owner": {
                "parsing": True,
                "revealing": False,
                "embedding": True,
                "searching": True,
                "scoring": True,
                "reasoning": False,
            },
            "controller": {
                "parsing": True,
                "revealing": False,
                "embedding": True,
                "searching": True,
                "scoring": True,
                "reasoning": False,
            },
        },
        "info": {
            "full_name": full_name,
            "first_name": first,
            "last_name": last,
            "email": email,
            "phone": person.get("phone"),
            "date_birth": person.get("birth"),
            "location": person["location"],
            "urls": urls_value,
            "picture": None,
            "gender": None,
            "summary": summary,
        },
        "text_language": "en",
        "text": "\n".join(text_lines),
        "experiences_duration": round(2.5 + (index % 9) * 1.3, 1),
        "educations_duration": round(2.0 + (index % 3), 1),
        "experiences": experiences,
        "educations": educations,
        "attachments": attachments,
        "skills": [
            {
                "name": s,
                "type": "soft" if s in {"communication", "negotiation", "coaching", "leadership"} else "hard",
                "value": None,
            }
            for s in person["skills"]
        ],
        "languages": [{"name": lang, "value": None} for lang in person["languages"]],
        "certifications": [],
        "courses": [],
        "tasks": [],
        "interests": [],
        "labels": [],
        "tags": [
            {"name": "application_channel", "value": ["careers-site", "job-board", "referral"][index % 3]},
            {"name": "gdpr_consent", "value": "true"},
        ],
        "metadatas": [
            {"name": "utm_source", "value": ["linkedin", "newsletter", "direct"][index % 3]},
            {"name": "applied_job_reference", "value": f"R-{440 + index % 5}"},
        ],
    }


def build_all() -> tuple[dict[str, dict[str, Any]], dict[str, bytes]]:
    """Every profile (by file name) and every file (by name)."""
    profiles: dict[str, dict[str, Any]] = {}
    files: dict[str, bytes] = {}
    by_slug: dict[str, dict[str, Any]] = {}
    for index, person in enumerate(PEOPLE):
        full_name = person.get("full", f"{person['first']} {person['last']}")
        email = person.get("email", f"{person['slug'].replace('-', '.')}@example.test")
        docs = _documents(person, full_name, email)
        profile = build_profile(index, person, docs)
        if profile["attachments"]:
            used = {a["public_url"].removeprefix("{files}/") for a in profile["attachments"]}
            files.update({name: data for name, data in docs.items() if name in used})
        profiles[f"{index + 1:02d}-{person['slug']}.json"] = profile
        by_slug[person["slug"]] = profile
    for first, second in CREATED_TIES:
        by_slug[second]["created_at"] = by_slug[first]["created_at"]
        for attachment in by_slug[second]["attachments"] or []:
            attachment["created_at"] = attachment["updated_at"] = by_slug[first]["created_at"]
    for first, second in UPDATED_TIES:
        later = max(by_slug[first]["updated_at"], by_slug[second]["updated_at"])
        by_slug[first]["updated_at"] = by_slug[second]["updated_at"] = later
    return profiles, files


def main() -> None:
    """Rewrite ``sandbox/seed/profiles`` and ``sandbox/seed/files``."""
    profiles, files = build_all()
    for folder in ("profiles", "files"):
        shutil.rmtree(SEED_DIR / folder, ignore_errors=True)
        (SEED_DIR / folder).mkdir(parents=True)
    for name, profile in profiles.items():
        text = json.dumps(profile, ensure_ascii=False, indent=2) + "\n"
        (SEED_DIR / "profiles" / name).write_text(text, encoding="utf-8")
    for name, data in files.items():
        (SEED_DIR / "files" / name).write_bytes(data)
    print(f"wrote {len(profiles)} profiles and {len(files)} files to {SEED_DIR}")


if __name__ == "__main__":
    main()

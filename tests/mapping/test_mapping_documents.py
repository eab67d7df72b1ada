"""Attachments to documents: the default fetcher, the selection, the file names and the policy."""

from __future__ import annotations

import base64
import logging
import socket
from typing import Any

import pytest
from mapping_support import FakeFetcher, FileServer, Route

from airflow_provider_broadbean.documents import (
    DEFAULT_MAX_BYTES,
    DEFAULT_TIMEOUT,
    DocumentOptions,
    attachment_filename,
    build_documents,
    current_document_options,
    fetch_with_requests,
    plan_documents,
    use_document_options,
)
from airflow_provider_broadbean.exceptions import AttachmentError, HrFlowError, MappingError
from airflow_provider_broadbean.mapping import default_format

KEY = "f000000000000000000000000000000000000001"


def _profile(attachments: Any) -> dict[str, Any]:
    return {
        "key": KEY,
        "info": {"full_name": "Ada Example", "email": "ada@example.test"},
        "attachments": attachments,
    }


def _attachment(kind: str, url: str | None, name: str = "file.pdf", **extra: Any) -> dict[str, Any]:
    return {"type": kind, "original_file_name": name, "public_url": url, **extra}


# The default fetcher, against a real local HTTP server.


def test_default_fetcher_returns_the_body(file_server: FileServer) -> None:
    assert fetch_with_requests(file_server.url("ok.pdf"), timeout=5) == b"%PDF-1.4\n"


@pytest.mark.parametrize("status", [403, 404, 500, 302])
def test_default_fetcher_refuses_non_2xx(file_server: FileServer, status: int) -> None:
    file_server.routes["answer"] = Route(status=status, body=b"<Error/>")

    with pytest.raises(AttachmentError) as raised:
        fetch_with_requests(file_server.url("answer") + "?X-Amz-Signature=secret", timeout=5)

    assert raised.value.status == status
    assert str(status) in str(raised.value)
    assert "secret" not in str(raised.value)


def test_default_fetcher_refuses_an_empty_body(file_server: FileServer) -> None:
    file_server.routes["empty"] = Route(body=b"")

    with pytest.raises(AttachmentError, match="empty"):
        fetch_with_requests(file_server.url("empty"), timeout=5)


@pytest.mark.parametrize("send_length", [True, False])
def test_default_fetcher_stops_past_max_bytes(file_server: FileServer, send_length: bool) -> None:
    file_server.routes["big"] = Route(body=b"x" * 300_000, send_length=send_length)

    with pytest.raises(AttachmentError, match="limit"):
        fetch_with_requests(file_server.url("big"), max_bytes=100_000, timeout=5)
    assert fetch_with_requests(file_server.url("big"), max_bytes=300_000, timeout=5) == b"x" * 300_000


def test_default_fetcher_times_out(file_server: FileServer) -> None:
    file_server.routes["slow"] = Route(body=b"late", delay=1.0)

    with pytest.raises(AttachmentError, match="Timeout"):
        fetch_with_requests(file_server.url("slow"), timeout=0.2)


def test_default_fetcher_reports_an_unreachable_host() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(AttachmentError, match="ConnectionError"):
        fetch_with_requests(f"http://127.0.0.1:{port}/cv.pdf?token=secret", timeout=2)


@pytest.mark.parametrize("url", ["", "not a url", "file:///etc/passwd", "http://[::1", "ftp://x.test/a"])
def test_default_fetcher_turns_bad_urls_into_attachment_errors(url: str) -> None:
    with pytest.raises(AttachmentError):
        fetch_with_requests(url, timeout=1)


def test_default_options_are_documented_values() -> None:
    options = current_document_options()

    assert options == DocumentOptions()
    assert (options.fetcher, options.cv_policy, options.include_cover_letters) == (None, "fail", True)
    assert options.max_bytes == DEFAULT_MAX_BYTES == 10 * 1024 * 1024
    assert options.timeout == DEFAULT_TIMEOUT == 30.0


def test_default_fetcher_gets_max_bytes_from_the_options(file_server: FileServer) -> None:
    file_server.routes["big.pdf"] = Route(body=b"x" * 5000)
    profile = _profile([_attachment("original", file_server.url("big.pdf"))])

    with use_document_options(DocumentOptions(max_bytes=4000, timeout=5)), pytest.raises(MappingError):
        default_format(profile)


# Options and the context variable.


@pytest.mark.parametrize(
    "kwargs", [{"max_bytes": 0}, {"timeout": 0}, {"timeout": -1.0}, {"cv_policy": "ignore"}]
)
def test_document_options_refuse_nonsense(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        DocumentOptions(**kwargs)


def test_use_document_options_nests_and_restores() -> None:
    outer, inner = DocumentOptions(max_bytes=10), DocumentOptions(max_bytes=20)

    with use_document_options(outer):
        with use_document_options(inner):
            assert current_document_options() is inner
        assert current_document_options() is outer
    assert current_document_options() == DocumentOptions()


def test_use_document_options_restores_after_an_error() -> None:
    with pytest.raises(MappingError), use_document_options(DocumentOptions(max_bytes=10)):
        default_format({"key": KEY})
    assert current_document_options() == DocumentOptions()


# Selection.


def test_one_cv_from_original_before_resume() -> None:
    fetcher = FakeFetcher({"https://f.test/original": b"original", "https://f.test/resume": b"resume"})
    attachments = [
        _attachment("resume", "https://f.test/resume", "resume.pdf"),
        _attachment("original", "https://f.test/original", "cv.docx"),
    ]

    documents = build_documents(KEY, attachments, DocumentOptions(fetcher=fetcher))

    assert [(d.type, d.filename, d.content) for d in documents] == [
        ("cv", "cv.docx", base64.b64encode(b"original").decode())
    ]
    assert fetcher.calls == ["https://f.test/original"]


def test_resume_is_the_cv_when_there_is_no_original() -> None:
    fetcher = FakeFetcher({"https://f.test/resume": b"resume"})
    attachments = [_attachment("resume", "https://f.test/resume", "resume.pdf"), _attachment("other", "x")]

    documents = build_documents(KEY, attachments, DocumentOptions(fetcher=fetcher))

    assert [(d.type, d.filename) for d in documents] == [("cv", "resume.pdf")]


def test_resume_is_tried_when_the_original_cannot_be_downloaded(caplog: pytest.LogCaptureFixture) -> None:
    fetcher = FakeFetcher(
        {"https://f.test/original": AttachmentError("HTTP 403", status=403), "https://f.test/resume": b"pdf"}
    )
    attachments = [
        _attachment("original", "https://f.test/original", "cv.docx"),
        _attachment("resume", "https://f.test/resume", "resume.pdf"),
    ]

    with caplog.at_level(logging.INFO):
        documents = build_documents(KEY, attachments, DocumentOptions(fetcher=fetcher))

    assert [(d.type, d.filename) for d in documents] == [("cv", "resume.pdf")]
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]


def test_every_cover_letter_is_sent_and_other_attachments_are_not() -> None:
    fetcher = FakeFetcher({"https://f.test/c1": b"one", "https://f.test/c2": b"two"})
    attachments = [
        _attachment("cover", "https://f.test/c1", "letter1.txt"),
        _attachment("other", "https://f.test/other", "photo.jpg"),
        _attachment("cover", "https://f.test/c2", "letter2.txt"),
        _attachment("cover", "https://f.test/c2", "letter2-again.txt"),
    ]

    documents = build_documents(KEY, attachments, DocumentOptions(fetcher=fetcher))

    assert [(d.type, d.filename) for d in documents] == [
        ("coverletter", "letter1.txt"),
        ("coverletter", "letter2.txt"),
    ]


def test_cover_letters_can_be_turned_off() -> None:
    fetcher = FakeFetcher({})
    options = DocumentOptions(fetcher=fetcher, include_cover_letters=False)

    assert build_documents(KEY, [_attachment("cover", "https://f.test/c1")], options) == []
    assert fetcher.calls == []


def test_a_cover_letter_that_fails_is_left_out_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    fetcher = FakeFetcher({"https://f.test/cv": b"cv", "https://f.test/c": AttachmentError("HTTP 500")})
    attachments = [_attachment("original", "https://f.test/cv"), _attachment("cover", "https://f.test/c")]

    with caplog.at_level(logging.WARNING):
        documents = build_documents(KEY, attachments, DocumentOptions(fetcher=fetcher))

    assert [d.type for d in documents] == ["cv"]
    assert KEY in caplog.text
    assert "HTTP 500" in caplog.text


@pytest.mark.parametrize(
    "attachments",
    [
        None,
        [],
        {},
        "attachments",
        42,
        [None, 1, "x", [], {}],
        [
            {"type": "original"},
            {"type": "original", "public_url": None},
            {"type": "resume", "public_url": "  "},
        ],
        [
            {"type": None, "public_url": "https://f.test/a"},
            {"type": ["cv"], "public_url": "https://f.test/b"},
        ],
        [{"type": "original", "public_url": 12}],
    ],
)
def test_odd_attachments_give_no_document_and_no_download(attachments: Any) -> None:
    fetcher = FakeFetcher({})

    assert build_documents(KEY, attachments, DocumentOptions(fetcher=fetcher)) == []
    assert fetcher.calls == []
    assert "documents" not in default_format(_profile(attachments))


def test_attachment_type_is_read_without_case_or_spaces() -> None:
    plan = plan_documents(
        [_attachment(" Original ", " https://f.test/a "), _attachment("COVER", "https://f.test/b")]
    )

    assert [(p.type, p.url) for p in plan.cv_copies] == [("cv", "https://f.test/a")]
    assert [(p.type, p.url) for p in plan.cover_letters] == [("coverletter", "https://f.test/b")]


def test_a_cv_without_url_is_not_sent_and_is_reported(caplog: pytest.LogCaptureFixture) -> None:
    fetcher = FakeFetcher({})
    attachments = [_attachment("original", None), {"type": "cover", "public_url": ""}]

    with caplog.at_level(logging.WARNING):
        documents = build_documents(KEY, attachments, DocumentOptions(fetcher=fetcher))

    assert documents == []
    assert plan_documents(attachments).without_url == ["original", "cover"]
    assert [record.levelno for record in caplog.records] == [logging.WARNING, logging.WARNING]
    assert all(KEY in record.getMessage() for record in caplog.records)


def test_a_resume_without_url_is_not_reported_when_the_original_is_sent(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fetcher = FakeFetcher({"https://f.test/cv": b"cv"})
    attachments = [_attachment("original", "https://f.test/cv"), _attachment("resume", None)]

    with caplog.at_level(logging.WARNING):
        documents = build_documents(KEY, attachments, DocumentOptions(fetcher=fetcher))

    assert [d.type for d in documents] == ["cv"]
    assert caplog.records == []


# The CV policy and what a fetcher may do wrong.


@pytest.mark.parametrize(
    "answer",
    [
        AttachmentError("HTTP 403", status=403),
        HrFlowError("HrFlow answered 500", status=500),
        ConnectionResetError("reset"),
        b"",
        "text, not bytes",
        None,
        b"x" * 101,
    ],
    ids=["attachment-error", "hrflow-error", "os-error", "empty", "str", "none", "too-large"],
)
def test_cv_policy_fail_and_send_without(answer: Any, caplog: pytest.LogCaptureFixture) -> None:
    def fetcher(url: str) -> Any:
        if isinstance(answer, Exception):
            raise answer
        return answer

    profile = _profile([_attachment("original", "https://f.test/cv?token=secret")])

    with (
        use_document_options(DocumentOptions(fetcher=fetcher, max_bytes=100)),
        pytest.raises(MappingError) as raised,
    ):
        default_format(profile)
    assert (raised.value.field, raised.value.profile_key) == ("documents", KEY)

    with (
        use_document_options(DocumentOptions(fetcher=fetcher, max_bytes=100, cv_policy="send_without")),
        caplog.at_level(logging.WARNING),
    ):
        assert "documents" not in default_format(profile)
    assert KEY in caplog.text
    assert "secret" not in caplog.text


def test_a_fetcher_bug_is_not_hidden() -> None:
    def fetcher(url: str) -> bytes:
        raise RuntimeError("bug in the fetcher")

    with pytest.raises(RuntimeError):
        build_documents(KEY, [_attachment("original", "https://f.test/cv")], DocumentOptions(fetcher=fetcher))


@pytest.mark.parametrize("content", [bytearray(b"abc"), memoryview(b"abc")])
def test_bytearray_and_memoryview_are_bytes(content: Any) -> None:
    options = DocumentOptions(fetcher=lambda url: content)

    documents = build_documents(KEY, [_attachment("original", "u")], options)

    assert documents[0].content == "YWJj"


def test_content_is_standard_base64_without_line_breaks() -> None:
    data = bytes(range(256)) * 400
    documents = build_documents(
        KEY, [_attachment("original", "u")], DocumentOptions(fetcher=lambda url: data)
    )

    assert documents[0].content == base64.b64encode(data).decode("ascii")
    assert "\n" not in documents[0].content
    assert base64.b64decode(documents[0].content, validate=True) == data


# File names.


@pytest.mark.parametrize(
    ("attachment", "expected"),
    [
        ({"original_file_name": "ada_cv.pdf", "file_name": "original", "extension": ".pdf"}, "ada_cv.pdf"),
        ({"original_file_name": "ada_cv", "extension": ".pdf"}, "ada_cv.pdf"),
        ({"original_file_name": "ada_cv", "extension": "pdf"}, "ada_cv.pdf"),
        ({"original_file_name": "ada_cv"}, "ada_cv"),
        ({"original_file_name": "ada_cv", "extension": None}, "ada_cv"),
        ({"original_file_name": "ada.cv.docx", "extension": ".pdf"}, "ada.cv.docx"),
        ({"original_file_name": "  ada_cv.pdf  "}, "ada_cv.pdf"),
        ({"original_file_name": "C:\\Users\\ada\\cv.pdf"}, "cv.pdf"),
        ({"original_file_name": "/tmp/uploads/cv.pdf"}, "cv.pdf"),
        ({"original_file_name": "", "file_name": "resume", "extension": ".pdf"}, "resume.pdf"),
        ({"original_file_name": None, "file_name": "resume", "extension": "pdf"}, "resume.pdf"),
        ({"file_name": "resume.pdf", "extension": ".pdf"}, "resume.pdf"),
        ({"file_name": "RESUME.PDF", "extension": "pdf"}, "RESUME.PDF"),
        ({"file_name": "resume.docx", "extension": ".pdf"}, "resume.docx.pdf"),
        ({"file_name": "resume", "extension": ""}, "resume"),
        ({"file_name": "resume", "extension": "p d f"}, "resume"),
        ({"file_name": "resume", "extension": 3}, "resume"),
        ({"file_name": "resume"}, "resume"),
        ({"extension": ".pdf"}, "cv.pdf"),
        ({}, "cv"),
        ({"original_file_name": 12, "file_name": ["x"]}, "cv"),
        ({"original_file_name": ".."}, "cv"),
        ({"original_file_name": ".bashrc", "extension": "txt"}, ".bashrc.txt"),
        ({"original_file_name": "Лев_резюме.pdf"}, "Лев_резюме.pdf"),
        ({"original_file_name": "履歴書", "extension": ".pdf"}, "履歴書.pdf"),
        ({"original_file_name": "Élodie CV.pdf"}, "Élodie CV.pdf"),
    ],
)
def test_attachment_filename(attachment: dict[str, Any], expected: str) -> None:
    assert attachment_filename(attachment, "cv") == expected


@pytest.mark.parametrize(
    ("content", "filename"),
    [
        (b"%PDF-1.4\n", "cv.pdf"),
        (b"PK\x03\x04word/", "cv.docx"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "cv.doc"),
        (b"{\\rtf1 hello}", "cv.rtf"),
        (b"plain words", "cv"),
    ],
)
def test_a_name_without_extension_gets_the_one_its_content_announces(content: bytes, filename: str) -> None:
    fetcher = FakeFetcher({"https://files.test/cv": content})
    attachments = [{"type": "original", "file_name": "cv", "public_url": "https://files.test/cv"}]
    [document] = build_documents("k", attachments, DocumentOptions(fetcher=fetcher))
    assert document.filename == filename


def test_a_given_extension_is_never_replaced_by_the_content() -> None:
    fetcher = FakeFetcher({"https://files.test/cv": b"PK\x03\x04"})
    attachments = [
        {"type": "original", "original_file_name": "cv.odt", "public_url": "https://files.test/cv"}
    ]
    [document] = build_documents("k", attachments, DocumentOptions(fetcher=fetcher))
    assert document.filename == "cv.odt"

"""The Candidate Hub emulator: signature, payload checks, recording, keep-alive and concurrency."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from sandbox import CandidateHub, Sandbox
from sandbox.candidate_hub import sign, signed_headers
from sandbox.config import HUB_SECRET

# The public test vector of docs/protocols.md, section 1.
VECTOR_SECRET = "secret"
VECTOR_SOURCE = "board1"
VECTOR_TIME = 1577965016
VECTOR_SIGNATURE = "c57ed8130b75a69458416e9e91ac0baef604f8fce3bf1d7cf5bcb03d13af2765"

PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n"


def body(**candidate: Any) -> dict[str, Any]:
    """A valid payload; keyword arguments replace or add candidate keys."""
    return {
        "transaction": {"client_id": "123", "source_id": "board1"},
        "candidate": {
            "name": "Ada Example",
            "email": "ada@example.test",
            "documents": [
                {"filename": "ada_cv.pdf", "type": "cv", "content": base64.b64encode(PDF).decode()}
            ],
            **candidate,
        },
        "context": {
            "job_id": "R-444",
            "supplementary": {"aplitrak_email_address": "ada.1.2@client.aplitrak.test"},
        },
    }


def post(
    sandbox: Sandbox, payload: Any, headers: dict[str, str] | None = None, **kwargs: Any
) -> requests.Response:
    """POST /candidate signed now with the sandbox secret unless headers are given."""
    sent = dict(signed_headers(HUB_SECRET, "board1")) if headers is None else headers
    return requests.post(f"{sandbox.hub_url}/candidate", json=payload, headers=sent, timeout=5, **kwargs)


@pytest.fixture
def vector_sandbox() -> Iterator[Sandbox]:
    """A sandbox whose hub has the public vector's secret and a clock stopped at the vector's time."""
    with Sandbox(seed_dir=None, hub_clock=lambda: float(VECTOR_TIME), hub_secret=VECTOR_SECRET) as running:
        yield running


def test_public_vector_is_accepted_at_its_time(vector_sandbox: Sandbox) -> None:
    assert sign(VECTOR_SECRET, VECTOR_SOURCE, VECTOR_TIME) == VECTOR_SIGNATURE
    headers = {
        "X-CHUB-SIGNATURE-TIME": str(VECTOR_TIME),
        "X-CHUB-SOURCE": VECTOR_SOURCE,
        "X-CHUB-SIGNATURE": VECTOR_SIGNATURE,
    }
    reply = post(vector_sandbox, body(), headers)
    assert reply.status_code == 200
    assert reply.headers["Content-Type"] == "application/json; charset=utf-8"
    assert reply.json() == {"success": 1, "transaction_id": "TX-000001"}
    assert vector_sandbox.hub.accepted()[0]["signature_time"] == VECTOR_TIME


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(
            lambda now: {
                "X-CHUB-SIGNATURE-TIME": str(now),
                "X-CHUB-SOURCE": "board1",
                "X-CHUB-SIGNATURE": sign("not-the-secret", "board1", now),
            },
            id="wrong-secret",
        ),
        pytest.param(
            lambda now: {
                "X-CHUB-SIGNATURE-TIME": str(now),
                "X-CHUB-SOURCE": "board1",
                "X-CHUB-SIGNATURE": sign(HUB_SECRET, "board1", now).upper(),
            },
            id="uppercase-hex",
        ),
        pytest.param(
            lambda now: {
                "X-CHUB-SIGNATURE-TIME": str(now),
                "X-CHUB-SOURCE": "board1",
                "X-CHUB-SIGNATURE": hmac.new(
                    HUB_SECRET.encode(), f"board1{now}".encode(), hashlib.sha256
                ).hexdigest(),
            },
            id="signed-without-pipe",
        ),
        pytest.param(
            lambda now: {
                "X-CHUB-SIGNATURE-TIME": str(now - 301),
                "X-CHUB-SOURCE": "board1",
                "X-CHUB-SIGNATURE": sign(HUB_SECRET, "board1", now - 301),
            },
            id="stale-301s",
        ),
        pytest.param(
            lambda now: {
                "X-CHUB-SIGNATURE-TIME": str(now + 301),
                "X-CHUB-SOURCE": "board1",
                "X-CHUB-SIGNATURE": sign(HUB_SECRET, "board1", now + 301),
            },
            id="future-301s",
        ),
        pytest.param(
            lambda now: {
                "X-CHUB-SIGNATURE-TIME": f"{now}.0",
                "X-CHUB-SOURCE": "board1",
                "X-CHUB-SIGNATURE": sign(HUB_SECRET, "board1", f"{now}.0"),
            },
            id="non-integer-time",
        ),
        pytest.param(
            lambda now: {
                "X-CHUB-SIGNATURE-TIME": str(now * 1000),
                "X-CHUB-SOURCE": "board1",
                "X-CHUB-SIGNATURE": sign(HUB_SECRET, "board1", now * 1000),
            },
            id="milliseconds",
        ),
        pytest.param(
            lambda now: {"X-CHUB-SOURCE": "board1", "X-CHUB-SIGNATURE": sign(HUB_SECRET, "board1", now)},
            id="missing-time",
        ),
        pytest.param(
            lambda now: {"X-CHUB-SIGNATURE-TIME": str(now), "X-CHUB-SOURCE": "board1"},
            id="missing-signature",
        ),
    ],
)
def test_bad_signatures_are_refused(headers: Any) -> None:
    now = 1_800_000_000
    with Sandbox(seed_dir=None, hub_clock=lambda: float(now)) as sandbox:
        reply = post(sandbox, body(), headers(now))
        assert reply.status_code == 401
        assert reply.json() == {"success": 0, "error": "invalid signature"}
        assert sandbox.hub.accepted() == []


def test_signature_exactly_300s_old_is_still_valid() -> None:
    now = 1_800_000_000
    with Sandbox(seed_dir=None, hub_clock=lambda: float(now)) as sandbox:
        reply = post(sandbox, body(), dict(signed_headers(HUB_SECRET, "board1", now - 300)))
        assert reply.status_code == 200


def test_unknown_source_is_forbidden(sandbox: Sandbox) -> None:
    reply = post(sandbox, body(), dict(signed_headers(HUB_SECRET, "board9")))
    assert reply.status_code == 403
    assert reply.json() == {"success": 0, "error": "unknown source board9"}


@pytest.mark.parametrize(
    ("section", "field", "message"),
    [
        ("transaction", "client_id", "client_id is required"),
        ("transaction", "source_id", "source_id is required"),
        ("candidate", "name", "name is required"),
        ("candidate", "email", "email is required"),
        ("context", "job_id", "job_id is required"),
    ],
)
def test_missing_required_field_is_400(sandbox: Sandbox, section: str, field: str, message: str) -> None:
    payload = body()
    del payload[section][field]
    reply = post(sandbox, payload)
    assert reply.status_code == 400
    assert reply.json() == {"success": 0, "error": message}


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"email": None}, "email is required"),
        ({"email": ""}, "email is required"),
        ({"location_city": "Undefined"}, "location_city holds placeholder text"),
        ({"location_latitude": 51.5, "location_longitude": "-0.07"}, "location_latitude must be a string"),
        ({"location_latitude": "51.5"}, "location_latitude and location_longitude go together"),
        ({"location_latitude": "0", "location_longitude": "0"}, "location 0,0 is not a real position"),
        ({"current_job_startdate": "2021-03-01T00:00:00+0000"}, "current_job_startdate must be"),
        (
            {"documents": [{"filename": "original", "type": "cv", "content": "JVBERg=="}]},
            "needs an extension",
        ),
        (
            {"documents": [{"filename": "a.pdf", "type": "resume", "content": "JVBERg=="}]},
            "type must be one of",
        ),
        ({"documents": [{"filename": "a.pdf", "type": "cv", "content": "JVBERg"}]}, "not standard base64"),
        (
            {"documents": [{"filename": "a.pdf", "type": "cv", "content": "JVBE\nRg=="}]},
            "without line breaks",
        ),
        ({"documents": [{"filename": "a.pdf", "type": "cv", "content": "-_-_"}]}, "not standard base64"),
        ({"documents": [{"filename": "a.pdf", "type": "cv", "content": ""}]}, "content is required"),
    ],
)
def test_bad_candidate_is_400(sandbox: Sandbox, change: dict[str, Any], error: str) -> None:
    reply = post(sandbox, body(**change))
    assert reply.status_code == 400
    assert reply.json()["success"] == 0
    assert error in reply.json()["error"]
    assert sandbox.hub.accepted() == []


@pytest.mark.parametrize(
    ("context", "error"),
    [
        ({"job_id": "R-1", "id": "R-1"}, "context.id is not a known key"),
        ({"job_id": "R-1", "aplitrak_email_address": "x@a.test"}, "context.aplitrak_email_address is not"),
        ({"job_id": "R-1", "shortlist_id": None}, "context.shortlist_id must be omitted when unset"),
        ({"job_id": "R-1", "supplementary": "x"}, "supplementary must be an object"),
    ],
)
def test_bad_context_is_400(sandbox: Sandbox, context: dict[str, Any], error: str) -> None:
    payload = body()
    payload["context"] = context
    reply = post(sandbox, payload)
    assert reply.status_code == 400
    assert error in reply.json()["error"]


def test_body_that_is_not_json_is_400(sandbox: Sandbox) -> None:
    headers = {**signed_headers(HUB_SECRET, "board1"), "Content-Type": "application/json"}
    reply = requests.post(f"{sandbox.hub_url}/candidate", data=b"{not json", headers=headers, timeout=5)
    assert reply.status_code == 400
    assert reply.json() == {"success": 0, "error": "body is not valid JSON"}

    headers["Content-Type"] = "text/plain"
    reply = requests.post(f"{sandbox.hub_url}/candidate", data=b"{}", headers=headers, timeout=5)
    assert reply.status_code == 400


def test_body_over_the_limit_is_413(sandbox: Sandbox) -> None:
    big = base64.b64encode(b"x" * 70_000).decode()
    reply = post(sandbox, body(documents=[{"filename": "big.pdf", "type": "cv", "content": big}]))
    assert reply.status_code == 413
    assert reply.json()["success"] == 0


def test_accepted_candidate_is_readable_over_http_and_on_disk_with_unicode_intact(sandbox: Sandbox) -> None:
    names = ["Иван Соколов", "王芳", "Siobhán O'Connell-Byrne", "Zoë 🚀 Example", "e\u0301 decomposed"]
    for name in names:
        assert post(sandbox, body(name=name)).status_code == 200

    over_http = requests.get(f"{sandbox.hub_url}/_sandbox/candidates", timeout=5).json()["data"]
    assert [record["body"]["candidate"]["name"] for record in over_http] == names
    assert [record["transaction_id"] for record in over_http] == [f"TX-00000{i}" for i in range(1, 6)]
    assert set(over_http[0]) == {"transaction_id", "received_at", "signature_time", "source", "body"}

    path = sandbox.hub.candidates_file
    assert path is not None
    raw = path.read_bytes()
    for name in names:
        assert name.encode("utf-8") in raw
    on_disk = [json.loads(line) for line in raw.decode("utf-8").splitlines()]
    assert on_disk == over_http == sandbox.hub.accepted()

    assert requests.delete(f"{sandbox.hub_url}/_sandbox/candidates", timeout=5).status_code == 200
    assert sandbox.hub.accepted() == []
    assert path.read_bytes() == b""


def test_a_restarted_hub_remembers_candidates_and_keeps_counting(sandbox: Sandbox) -> None:
    assert post(sandbox, body()).json()["transaction_id"] == "TX-000001"
    sandbox.stop()
    hub = CandidateHub(data_dir=sandbox.hub.data_dir)
    with hub:
        assert len(hub.accepted()) == 1
        reply = requests.post(
            f"{hub.url}/candidate", json=body(), headers=dict(signed_headers(HUB_SECRET, "board1")), timeout=5
        )
        assert reply.json()["transaction_id"] == "TX-000002"


def test_every_request_is_logged_with_its_signature_time_and_outcome(sandbox: Sandbox) -> None:
    post(sandbox, body(), dict(signed_headers(HUB_SECRET, "board1", 1_000)))
    post(sandbox, body())
    log = requests.get(f"{sandbox.hub_url}/_sandbox/requests", timeout=5).json()["data"]
    assert [(entry["status"], entry["outcome"]) for entry in log] == [(401, "rejected"), (200, "accepted")]
    assert log[0]["signature_time"] == 1_000
    assert log[1]["transaction_id"] == "TX-000001"
    assert log[1]["email"] == "ada@example.test"


def test_keep_alive_serves_several_requests_on_one_connection(sandbox: Sandbox) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", sandbox.hub.port, timeout=5)
    try:
        for _ in range(3):
            data = json.dumps(body()).encode()
            headers = {**signed_headers(HUB_SECRET, "board1"), "Content-Type": "application/json"}
            connection.request("POST", "/candidate", body=data, headers=headers)
            reply = connection.getresponse()
            assert reply.status == 200
            assert reply.getheader("Content-Length") is not None
            reply.read()
        first_socket = connection.sock
        connection.request("GET", "/_sandbox/health")
        connection.getresponse().read()
        assert connection.sock is first_socket
    finally:
        connection.close()


def test_concurrent_posts_all_get_distinct_transaction_ids(sandbox: Sandbox) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(pool.map(lambda i: post(sandbox, body(email=f"p{i}@example.test")), range(40)))
    ids = [reply.json()["transaction_id"] for reply in replies]
    assert len(set(ids)) == 40
    assert len(sandbox.hub.accepted()) == 40


def test_wrong_route_and_method(sandbox: Sandbox) -> None:
    assert requests.get(f"{sandbox.hub_url}/candidate", timeout=5).status_code == 405
    assert requests.post(f"{sandbox.hub_url}/candidates", json={}, timeout=5).status_code == 404

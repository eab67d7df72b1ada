from __future__ import annotations

from airflow_provider_broadbean.signing import signature, signed_headers

VECTOR = "c57ed8130b75a69458416e9e91ac0baef604f8fce3bf1d7cf5bcb03d13af2765"


def test_public_vector() -> None:
    assert signature("secret", "board1", 1577965016) == VECTOR


def test_headers_at_the_vector_time() -> None:
    headers = signed_headers("secret", "board1", clock=lambda: 1577965016.9)
    assert headers == {
        "X-CHUB-SIGNATURE-TIME": "1577965016",
        "X-CHUB-SOURCE": "board1",
        "X-CHUB-SIGNATURE": VECTOR,
    }


def test_signature_needs_the_pipe_and_whole_seconds() -> None:
    import hashlib
    import hmac

    without_pipe = hmac.new(b"secret", b"board11577965016", hashlib.sha256).hexdigest()
    assert signature("secret", "board1", 1577965016) != without_pipe
    milliseconds = signed_headers("secret", "board1", clock=lambda: 1577965016.0)["X-CHUB-SIGNATURE-TIME"]
    assert milliseconds == "1577965016"


def test_each_call_signs_with_the_current_time() -> None:
    times = iter([1577965016, 1577965016 + 400])
    first = signed_headers("secret", "board1", clock=lambda: next(times))
    second = signed_headers("secret", "board1", clock=lambda: next(times))
    assert first["X-CHUB-SIGNATURE-TIME"] == "1577965016"
    assert second["X-CHUB-SIGNATURE-TIME"] == "1577965416"
    assert second["X-CHUB-SIGNATURE"] == signature("secret", "board1", 1577965416)

"""CPU per profile of the work between reading a profile and sending it, without any network.

Per profile: the mapping with its candidate validation (``default_format``, the CV fetched from
memory), the envelope and its validation (``pipeline.build_envelope``), the signature
(``signing.signed_headers``) and the body (``json.dumps`` as the hub client writes it, then UTF-8).

The baseline does the same mapping, validation and signing by construction (see
:mod:`benchmarks.baseline`); only its body differs, written the way ``requests`` writes
``json=`` (ASCII escapes, spaced separators). The ratio therefore shows that the provider's speed
comes from how it delivers, not from doing less work per profile. There is no goal: the figure
says how many profiles per second one core can prepare, the ceiling of any concurrency.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from benchmarks.support import PUSH_PARAMETERS, Figure, median, say

PROFILES = 500
ROUNDS = 5
CV_BYTES = 1024


def _per_profile_us(work: Callable[[dict[str, Any]], Any], profiles: list[dict[str, Any]]) -> float:
    """Median over ``ROUNDS`` of the process CPU time of ``work`` per profile, in microseconds."""
    rounds = []
    for _ in range(ROUNDS):
        started = time.process_time()
        for profile in profiles:
            work(profile)
        rounds.append((time.process_time() - started) / len(profiles) * 1e6)
    return median(rounds)


def measure() -> list[Figure]:
    """Run the benchmark; returns its table row."""
    from airflow_provider_broadbean.documents import DocumentOptions, use_document_options
    from airflow_provider_broadbean.mapping import default_format
    from airflow_provider_broadbean.parameters import PushParameters
    from airflow_provider_broadbean.pipeline import build_envelope
    from airflow_provider_broadbean.signing import signed_headers
    from benchmarks.sandbox_process import TEMPLATE, cv_body, make_profile

    say(f"CPU per profile: {PROFILES} generated profiles with a {CV_BYTES} B CV, median of {ROUNDS} rounds")
    template = json.loads(TEMPLATE.read_text(encoding="utf-8"))
    profiles = [make_profile(template, index, f"cv-{index}.pdf") for index in range(PROFILES)]
    cv = cv_body(CV_BYTES)
    push = PushParameters.model_validate(PUSH_PARAMETERS)
    secret = "benchmark-secret"

    def ours(profile: dict[str, Any]) -> bytes:
        envelope = build_envelope(default_format(profile), push)
        signed_headers(secret, push.source_id)
        return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()

    def baseline(profile: dict[str, Any]) -> bytes:
        envelope = build_envelope(default_format(profile), push)
        signed_headers(secret, push.source_id)
        return json.dumps(envelope, allow_nan=False).encode("utf-8")

    with use_document_options(DocumentOptions(fetcher=lambda url: cv)):
        candidate = default_format(profiles[0])
        envelope = build_envelope(candidate, push)
        steps = {
            "default_format (map, CV from memory, base64, validate)": _per_profile_us(
                default_format, profiles
            ),
            "build_envelope (envelope validation)": _per_profile_us(
                lambda _: build_envelope(candidate, push), profiles
            ),
            "signed_headers (HMAC-SHA256)": _per_profile_us(
                lambda _: signed_headers(secret, push.source_id), profiles
            ),
            "json.dumps + encode (the hub client's body)": _per_profile_us(
                lambda _: json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode(),
                profiles,
            ),
        }
        whole = _per_profile_us(ours, profiles)
        naive = _per_profile_us(baseline, profiles)

    for step, micros in steps.items():
        say(f"  {step:<58} {micros:8.1f} us")
    say(f"  {'all four, end to end':<58} {whole:8.1f} us  ({1e6 / whole:,.0f} profiles/s on one core)")
    say(f"  {'baseline end to end (body as requests json= writes it)':<58} {naive:8.1f} us")
    return [
        Figure(
            name="CPU per profile: map, validate, sign, serialise",
            ours=f"{whole:.0f} us",
            baseline=f"{naive:.0f} us (same mapping)",
            ratio=f"{naive / whole:.2f}x",
            goal="none (info)",
            met=None,
            counts=False,
        )
    ]

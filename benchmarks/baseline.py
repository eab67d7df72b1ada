"""The naive baseline: how the public hrflow-connectors Broadbean connector delivers profiles.

hrflow-connectors (v2, ``connectors/broadbean``) runs an action in three sequential phases: it
reads every profile through the ``hrflow`` SDK, formats every one of them (its format downloads
each attachment with a bare ``requests.get`` and base64-encodes it), and only then hands the whole
list to the warehouse's ``write``, which posts one candidate after another with a bare
``requests.post(..., json=payload)``. No session is kept, so every request opens a new TCP
connection, and every payload with its CV is in memory before the first push.

This module reproduces that delivery strategy, and nothing else of it: the profiles are read,
mapped, validated and signed with this provider's own functions (the ``hrflow`` SDK client,
:func:`~airflow_provider_broadbean.mapping.default_format` with its default fetcher
``fetch_with_requests``, :func:`~airflow_provider_broadbean.pipeline.build_envelope`,
:func:`~airflow_provider_broadbean.signing.signed_headers`), so that a comparison with the
provider measures how the work is scheduled, not what the work is.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import requests
from hrflow import Hrflow

from airflow_provider_broadbean.mapping import default_format
from airflow_provider_broadbean.parameters import PushParameters
from airflow_provider_broadbean.pipeline import build_envelope
from airflow_provider_broadbean.signing import signed_headers

PAGE_SIZE = 100


@dataclass
class BaselineResult:
    """What a baseline run did: counts per outcome, and the time spent before the first push."""

    read: int = 0
    format_failures: int = 0
    sent: int = 0
    failed: int = 0
    build_seconds: float = 0.0
    push_seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


def _list_keys(client: Hrflow, source_key: str) -> list[str]:
    """Every profile key of the source, oldest first, one bare request per page."""
    keys: list[str] = []
    page = 1
    while True:
        reply = client.profile.storing.list(
            source_keys=[source_key],
            return_profile=False,
            page=page,
            limit=PAGE_SIZE,
            order_by="asc",
            sort_by="created_at",
        )
        data = reply.get("data") or []
        keys.extend(str(item["key"]) for item in data)
        if len(data) < PAGE_SIZE:
            return keys
        page += 1


def _push(url: str, secret_key: str, source_id: str, envelope: dict[str, Any]) -> tuple[bool, str]:
    """One candidate, as hrflow-connectors sends it: a bare ``requests.post`` with ``json=``."""
    response = requests.post(url, headers=signed_headers(secret_key, source_id), json=envelope, timeout=60)
    try:
        reply = response.json()
    except ValueError:
        reply = {}
    ok = response.status_code // 100 == 2 and reply.get("success") == 1
    return ok, "" if ok else f"HTTP {response.status_code}: {response.text[:200]}"


def run_baseline(
    *,
    hrflow_url: str,
    api_secret: str,
    api_user: str,
    source_key: str,
    hub_url: str,
    hub_secret: str,
    push_parameters: dict[str, Any],
) -> BaselineResult:
    """Read and format every profile of ``source_key``, then push them one by one.

    The payloads (documents included) are all built and kept before the first push, as in
    hrflow-connectors; each request, HrFlow's included, goes out on a new connection.
    """
    result = BaselineResult()
    started = time.perf_counter()
    client = Hrflow(api_secret=api_secret, api_user=api_user, api_url=hrflow_url)
    push = PushParameters.model_validate(push_parameters)

    envelopes: list[dict[str, Any]] = []
    for key in _list_keys(client, source_key):
        reply = client.profile.storing.get(source_key=source_key, key=key)
        if reply.get("code") != 200:
            result.errors.append(f"read {key}: {reply.get('message')}")
            continue
        result.read += 1
        try:
            envelopes.append(build_envelope(default_format(reply["data"]), push))
        except Exception as exc:  # as in hrflow-connectors, a bad profile costs only itself
            result.format_failures += 1
            result.errors.append(f"format {key}: {type(exc).__name__}: {exc}")
    result.build_seconds = time.perf_counter() - started

    url = hub_url.rstrip("/") + "/candidate"
    for envelope in envelopes:
        ok, error = _push(url, hub_secret, push.source_id, envelope)
        if ok:
            result.sent += 1
        else:
            result.failed += 1
            result.errors.append(error)
    result.push_seconds = time.perf_counter() - started - result.build_seconds
    return result

"""HrFlow webhook events as DAG run conf: which events mean "a profile was created", and its keys.

HrFlow posts an event such as ``profile.storing.success`` (first save) or
``profile.parsing.success`` (first parse) with the profile. A relay forwards that body unchanged
under the conf key ``hrflow_event``; the keys are read from it here. Accepted shapes::

    {"type": "profile.storing.success", "profile": {"key": "...", "source": {"key": "..."}}}
    {"type": "profile.parsing.success", "profile_key": "...", "source_key": "..."}

(``event`` is accepted in place of ``type``; ``profile.source_key`` in place of
``profile.source.key``.)
"""

from __future__ import annotations

from typing import Any

from airflow_provider_broadbean.parameters import ParameterError

PROFILE_CREATED_EVENTS = frozenset({"profile.storing.success", "profile.parsing.success"})


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def keys_from_webhook(event: Any) -> tuple[str, str]:
    """Return ``(source_key, profile_key)`` of a "profile created" webhook body.

    :raises ParameterError: the body is not an object, is another kind of event, or lacks a key;
        the message names what is wrong.
    """
    if not isinstance(event, dict):
        raise ParameterError(
            f"hrflow_event: expected the webhook body as an object, got {type(event).__name__}"
        )
    kind = _text(event.get("type")) or _text(event.get("event"))
    if kind not in PROFILE_CREATED_EVENTS:
        raise ParameterError(
            f"hrflow_event: event type {kind!r} is not a 'profile created' event "
            f"(expected one of {', '.join(sorted(PROFILE_CREATED_EVENTS))})"
        )
    profile = _object(event.get("profile"))
    source = _object(profile.get("source"))
    profile_key = _text(profile.get("key")) or _text(event.get("profile_key"))
    source_key = _text(source.get("key")) or _text(profile.get("source_key"))
    source_key = source_key or _text(event.get("source_key"))
    if profile_key is None:
        raise ParameterError("hrflow_event: no profile key (profile.key or profile_key)")
    if source_key is None:
        raise ParameterError("hrflow_event: no source key (profile.source.key or source_key)")
    return source_key, profile_key

"""Validation of the action's parameters, before any network call.

Error messages name the parameter and the rule it breaks, never the value given: a misplaced
secret must not end up in a log or a result.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

NonEmpty = Field(min_length=1)
_URL = re.compile(r"^https?://[^\s/?#]+(/[^\s]*)?$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _http_url(value: str | None) -> str | None:
    """An ``http(s)://host[/path]`` URL or None; the message never repeats the value given."""
    if value is not None and not _URL.match(value):
        raise ValueError("expected an http:// or https:// URL")
    return value or None


def _printable(value: str | None) -> str | None:
    if value is not None and _CONTROL.search(value):
        raise ValueError("must not contain control characters or line breaks")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)


class HrFlowAuth(_Strict):
    api_secret: str = NonEmpty
    api_user: str = NonEmpty
    api_url: str | None = None

    @field_validator("api_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        return _http_url(value)

    @field_validator("api_secret", "api_user")
    @classmethod
    def _check_text(cls, value: str) -> str | None:
        return _printable(value)


class BroadbeanAuth(_Strict):
    secret_key: str = NonEmpty
    api_url: str | None = None
    signing_source_id: str | None = None

    @field_validator("api_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        return _http_url(value)

    @field_validator("secret_key", "signing_source_id")
    @classmethod
    def _check_text(cls, value: str | None) -> str | None:
        return _printable(value)


class PullParameters(_Strict):
    """Where the profiles come from: a source, and one profile key, a list of keys, or neither (poll).

    ``profile_keys`` goes beyond hrflow-connectors: exactly these profiles, read one by one, as a
    mapped task of a fan-out does. An empty list means no profile, never "poll the source".
    """

    source_key: str = NonEmpty
    profile_key: str | None = None
    profile_keys: list[str] | None = None

    @field_validator("profile_key")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("profile_keys")
    @classmethod
    def _distinct_keys(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        for key in value:
            if not key or _printable(key) is None:
                raise ValueError("expected profile keys, none of them empty")
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _one_way_to_name_profiles(self) -> PullParameters:
        if self.profile_key is not None and self.profile_keys is not None:
            raise ValueError("give profile_key or profile_keys, not both")
        return self


class PushParameters(_Strict):
    client_id: str = NonEmpty
    source_id: str = NonEmpty
    job_id: str = NonEmpty
    shortlist_id: str | None = None
    aplitrak_email_address: str | None = None

    @field_validator("client_id", "source_id", "job_id", "shortlist_id", "aplitrak_email_address")
    @classmethod
    def _check_text(cls, value: str | None) -> str | None:
        return _printable(value)

    @field_validator("shortlist_id", "aplitrak_email_address")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None


class ParameterError(ValueError):
    """A parameter is missing or ill-typed; the message names it."""


def describe(error: ValidationError, group: str) -> str:
    """One line per problem: ``group.field: rule``, without the offending value."""
    parts = []
    for item in error.errors(include_url=False, include_input=False):
        location = ".".join(str(part) for part in item.get("loc", ())) or "<root>"
        parts.append(f"{group}.{location}: {item.get('msg', 'invalid')}")
    return "; ".join(parts)


def parse(model: type[_Strict], value: Any, group: str) -> Any:
    """Validate ``value`` (a mapping) as ``model``; raise :class:`ParameterError` naming the field."""
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise ParameterError(f"{group}: expected a dict, got {type(value).__name__}")
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise ParameterError(describe(exc, group)) from None


def check_callable(value: Any, name: str, *, optional: bool = True) -> Callable[..., Any] | None:
    if value is None and optional:
        return None
    if not callable(value):
        raise ParameterError(f"{name}: expected a function, got {type(value).__name__}")
    return value


def check_logics(value: Any) -> list[Callable[[dict[str, Any]], dict[str, Any] | None]]:
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise ParameterError(f"logics: expected a list of functions, got {type(value).__name__}")
    for index, logic in enumerate(value):
        if not callable(logic):
            raise ParameterError(f"logics[{index}]: expected a function, got {type(logic).__name__}")
    return list(value)


def check_bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ParameterError(f"{name}: expected true or false, got {type(value).__name__}")
    return value


def check_workflow_id(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ParameterError("workflow_id: expected a non-empty string")
    return value.strip()

"""Operator arguments once Airflow rendered them: text where a bool, a number or a list was meant.

Without ``render_template_as_native_obj`` every templated argument arrives as a string; these
helpers turn it back, and leave anything else as given for the parameter checks to name.
Standard library only: the operator modules import them when a DAG file is parsed.
"""

from __future__ import annotations

import json
from typing import Any

TEXT_FILTERS = {"repr": repr}
"""``user_defined_filters`` of a DAG with ``render_template_as_native_obj=True``, for :func:`text_params`.

Native rendering keeps the Params' types (flags, numbers, a webhook object), but it reads every
rendered string back as a Python literal: a job id ``1_000`` would become the number 1000, ``0x1F``
31, ``1e3`` 1000.0. Rendered through ``repr``, a text comes back exactly as it was (None as None).
"""


def text_params(*names: str) -> dict[str, str]:
    """Operator arguments taking the text Params ``names`` as typed: ``{{ params.<name> | repr }}``
    each, for a DAG with ``render_template_as_native_obj=True`` and :data:`TEXT_FILTERS`."""
    return {name: f"{{{{ params.{name} | repr }}}}" for name in names}


def given(value: Any) -> bool:
    """Whether a rendered argument holds a value (the UI form sends {} for an empty object)."""
    return value not in (None, "", "None", {}, "{}")


def as_keys(value: Any) -> Any:
    """A list of profile keys from a list, or from its JSON text (a template rendered as a string)."""
    from airflow_provider_broadbean.parameters import ParameterError

    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ParameterError("profile_keys: expected a list of profile keys") from None
    if isinstance(value, tuple):
        value = list(value)
    if not isinstance(value, list):
        raise ParameterError(f"profile_keys: expected a list of profile keys, got {type(value).__name__}")
    return value


def text_values(values: dict[str, Any]) -> dict[str, Any]:
    """Rendered templates give strings; ids that came through as numbers are kept as their text."""
    return {
        key: str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
        for key, value in values.items()
    }


def as_bool(value: Any) -> Any:
    """True or false from a bool or its rendered text; anything else as given, for the checks to refuse."""
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    return value


def as_int(value: Any, name: str, *, low: int, high: int | None = None) -> int:
    """A whole number from ``low`` to ``high`` from an int or its rendered text; the error names ``name``."""
    from airflow_provider_broadbean.parameters import ParameterError

    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name}: expected a whole number") from None
    if isinstance(value, bool) or number < low or (high is not None and number > high):
        raise ParameterError(f"{name}: expected a whole number from {low}" + (f" to {high}" if high else ""))
    return number


def as_policy(value: Any) -> Any:
    """The CV policy, checked."""
    from airflow_provider_broadbean.parameters import ParameterError

    if value not in {"fail", "send_without"}:
        raise ParameterError("cv_policy: expected 'fail' or 'send_without'")
    return value

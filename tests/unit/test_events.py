"""Reading the keys of an HrFlow "profile created" webhook body."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_broadbean.events import keys_from_webhook
from airflow_provider_broadbean.parameters import ParameterError

SOURCE, PROFILE = "s" * 40, "p" * 40


@pytest.mark.parametrize(
    "event",
    [
        {"type": "profile.storing.success", "profile": {"key": PROFILE, "source": {"key": SOURCE}}},
        {"type": "profile.parsing.success", "profile": {"key": PROFILE, "source_key": SOURCE}},
        {"event": "profile.storing.success", "profile_key": PROFILE, "source_key": SOURCE},
    ],
)
def test_accepted_shapes(event: dict[str, Any]) -> None:
    assert keys_from_webhook(event) == (SOURCE, PROFILE)


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (
            {"type": "profile.storing.update", "profile_key": PROFILE, "source_key": SOURCE},
            "profile.storing.update",
        ),
        ({"type": "job.storing.success"}, "not a 'profile created' event"),
        ({"profile_key": PROFILE, "source_key": SOURCE}, "event type None"),
        ({"type": "profile.storing.success", "source_key": SOURCE}, "no profile key"),
        ({"type": "profile.storing.success", "profile": {"key": PROFILE}}, "no source key"),
        (["profile.storing.success"], "got list"),
    ],
)
def test_refused_events_name_the_problem(event: Any, message: str) -> None:
    with pytest.raises(ParameterError, match="hrflow_event") as caught:
        keys_from_webhook(event)
    assert message in str(caught.value)

"""Pydantic models of the Candidate Hub's request body.

The models validate what is sent; they do not change it. Unknown values are left out of the
JSON entirely (``exclude_none``), never sent as placeholders.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

BROADBEAN_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$", re.ASCII)
# A syntax check only, shared by the mapping and the model: one "@"; no white space, control
# character, or character that makes a display name or a list of addresses (<>()[],;:"\); a
# domain of at least two non-empty labels. Unicode is accepted (internationalised addresses).
EMAIL = re.compile(
    r"^[^@\s\x00-\x1f\x7f<>()\[\],;:\"\\]+"
    r"@[^@.\s\x00-\x1f\x7f<>()\[\],;:\"\\]+(?:\.[^@.\s\x00-\x1f\x7f<>()\[\],;:\"\\]+)+$"
)
EMAIL_MAX_LENGTH = 254
DECIMAL = re.compile(r"-?\d+(?:\.\d+)?", re.ASCII)


def is_email(value: str) -> bool:
    """True when ``value`` passes the simple syntax check Broadbean's ``email`` gets here."""
    return len(value) <= EMAIL_MAX_LENGTH and EMAIL.fullmatch(value) is not None


class Document(BaseModel):
    """One file attached to a candidate, as standard base64 with padding and no line breaks."""

    model_config = ConfigDict(extra="forbid")

    filename: str = Field(min_length=1)
    type: Literal["cv", "coverletter"]
    content: str = Field(min_length=1)

    @field_validator("filename")
    @classmethod
    def _is_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("filename is blank")
        return value

    @field_validator("content")
    @classmethod
    def _is_standard_base64(cls, value: str) -> str:
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("content is not standard base64") from exc
        return value


class Candidate(BaseModel):
    """Broadbean's candidate node: only ``name`` and ``email`` are required.

    Checked here: a non-blank name, the email syntax of :func:`is_email`, real dates written
    ``YYYY-MM-DDTHH:MM:SS``, and coordinates written as plain decimals within range. Extra keys
    are allowed so that a custom format can send fields this model does not list.
    """

    model_config = ConfigDict(extra="allow")

    name: str = Field(min_length=1)
    email: str
    first_name: str | None = None
    last_name: str | None = None
    contact_telephone: str | None = None
    mobile_telephone: str | None = None
    location_address: str | None = None
    location_city: str | None = None
    location_county: str | None = None
    location_country: str | None = None
    location_postcode: str | None = None
    location_latitude: str | None = None
    location_longitude: str | None = None
    current_job_title: str | None = None
    current_job_employer: str | None = None
    current_job_startdate: str | None = None
    current_job_enddate: str | None = None
    documents: list[Document] | None = None

    @field_validator("name")
    @classmethod
    def _is_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("name is blank")
        return value

    @field_validator("email")
    @classmethod
    def _is_email(cls, value: str) -> str:
        if not is_email(value):
            raise ValueError("not an email address")
        return value

    @field_validator("current_job_startdate", "current_job_enddate")
    @classmethod
    def _is_broadbean_date(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            valid = BROADBEAN_DATE.fullmatch(value) is not None and bool(datetime.fromisoformat(value))
        except ValueError:
            valid = False
        if not valid:
            raise ValueError("dates must be real dates written YYYY-MM-DDTHH:MM:SS")
        return value

    @field_validator("location_latitude", "location_longitude")
    @classmethod
    def _is_coordinate(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return value
        limit = 90 if info.field_name == "location_latitude" else 180
        if DECIMAL.fullmatch(value) is None or abs(float(value)) > limit:
            raise ValueError(f"must be a decimal number between -{limit} and {limit}")
        return value


class Transaction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_id: str = Field(min_length=1)
    source_id: str = Field(min_length=1)


class Context(BaseModel):
    """Broadbean's candidate context node; anything beyond the known keys is supplementary."""

    model_config = ConfigDict(extra="forbid")

    job_id: str = Field(min_length=1)
    shortlist_id: str | None = None
    candidate_source_id: str | None = None
    candidate_source_name: str | None = None
    source_candidate_id: str | None = None
    subsource: str | None = None
    supplementary: dict[str, Any] | None = None


class Envelope(BaseModel):
    """The whole body of ``POST /candidate``."""

    model_config = ConfigDict(extra="forbid")

    transaction: Transaction
    candidate: Candidate
    context: Context

    def to_json_dict(self) -> dict[str, Any]:
        """The body as sent: unset optional values are left out."""
        return self.model_dump(mode="json", exclude_none=True)

"""Pydantic models of the Candidate Hub's request body.

The models validate what is sent; they do not change it. Unknown values are left out of the
JSON entirely (``exclude_none``), never sent as placeholders.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

BROADBEAN_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Document(BaseModel):
    """One file attached to a candidate, as standard base64 with padding and no line breaks."""

    model_config = ConfigDict(extra="forbid")

    filename: str = Field(min_length=1)
    type: Literal["cv", "coverletter"]
    content: str = Field(min_length=1)

    @field_validator("content")
    @classmethod
    def _is_standard_base64(cls, value: str) -> str:
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("content is not standard base64") from exc
        return value


class Candidate(BaseModel):
    """Broadbean's candidate node: only ``name`` and ``email`` are required."""

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

    @field_validator("email")
    @classmethod
    def _is_email(cls, value: str) -> str:
        if not EMAIL.match(value):
            raise ValueError("not an email address")
        return value

    @field_validator("current_job_startdate", "current_job_enddate")
    @classmethod
    def _is_broadbean_date(cls, value: str | None) -> str | None:
        if value is not None and not BROADBEAN_DATE.match(value):
            raise ValueError("dates must be YYYY-MM-DDTHH:MM:SS")
        return value

    @field_validator("location_latitude", "location_longitude")
    @classmethod
    def _is_number_text(cls, value: str | None) -> str | None:
        if value is not None:
            float(value)
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

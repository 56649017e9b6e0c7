"""Application input and read models."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, StrictStr, field_validator

from edgedock.text import clean_name, has_control_chars, has_lone_surrogate

MAX_DESCRIPTION = 2000
# Line breaks and tabs are fine in a description; other control characters are not.
_ALLOWED_CONTROL = str.maketrans("", "", "\n\r\t")


class ApplicationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    name: StrictStr
    description: StrictStr = ""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return clean_name(value, what="name", max_length=100)

    @field_validator("description")
    @classmethod
    def _description(cls, value: str) -> str:
        value = value.strip()
        if len(value) > MAX_DESCRIPTION:
            raise ValueError(f"description must be at most {MAX_DESCRIPTION} characters")
        if has_control_chars(value.translate(_ALLOWED_CONTROL)):
            raise ValueError("description must not contain control characters")
        if has_lone_surrogate(value):
            raise ValueError("description must be valid Unicode text (it holds a lone surrogate)")
        return value


class ApplicationRead(BaseModel):
    id: uuid.UUID
    name: str
    description: str
    created_at: datetime
    release_count: int

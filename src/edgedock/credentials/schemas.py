"""Image credential input and read models. The password is a SecretStr from the first byte."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, field_validator

from edgedock import container_spec, references
from edgedock.text import clean_name

MAX_PASSWORD_BYTES = 16_384
# The default of Settings.credentials_expiry_warning_days.
EXPIRY_WARNING_DAYS = 7
# A given expiry further out than this is a typo (a year 20270), not a token's lifetime.
MAX_GIVEN_LIFETIME = timedelta(days=100 * 366)
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")


def normalize_password(password: str) -> str:
    """As `docker login --password-stdin` does: drop one trailing newline, keep all else."""
    if password.endswith("\r\n"):
        password = password[:-2]
    elif password.endswith("\n"):
        password = password[:-1]
    if not password:
        raise ValueError("password must not be empty")
    if "\x00" in password:
        raise ValueError("password must not contain NUL characters")
    if len(password.encode("utf-8", "surrogatepass")) > MAX_PASSWORD_BYTES:
        raise ValueError(f"password must be at most {MAX_PASSWORD_BYTES} bytes")
    try:
        password.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("password must be valid UTF-8") from None
    return password


class CheckRequest(BaseModel):
    """What to check credentials against; without an image, the one they were last used for."""

    model_config = ConfigDict(extra="forbid")

    image: Annotated[str, AfterValidator(container_spec.check_image)] | None = Field(
        default=None, description="An image reference; proves pull rights on it."
    )


def parse_expiry(value: Any) -> Any:
    """A date alone (`2027-01-31`) means midnight UTC of that day: the warning comes early,
    never late. Anything else is left to pydantic's datetime parsing."""
    if isinstance(value, str) and _DATE_ONLY.fullmatch(value.strip()):
        try:
            return datetime.fromisoformat(value.strip()).replace(tzinfo=UTC)
        except ValueError:
            raise ValueError("expires_at is not a valid date (2027-01-31)") from None
    return value


def check_given_expiry(value: datetime, *, now: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            "expires_at needs a time zone (2027-01-31T12:00:00Z or +01:00), or a date alone"
        )
    try:
        value = value.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 shifted past the calendar's edge
        raise ValueError("expires_at is out of range") from None
    if value <= now:
        raise ValueError("expires_at is in the past: devices would be refused these credentials")
    if value - now > MAX_GIVEN_LIFETIME:
        raise ValueError("expires_at is more than 100 years away")
    return value


class CredentialCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    label: str
    username: str
    password: SecretStr
    check: CheckRequest | None = Field(
        default=None,
        description="Check against the registry first: refused (422) when the registry refuses.",
    )
    # For tokens that do not carry their expiry (PATs); the earlier of this and the token's wins.
    expires_at: datetime | None = None
    # Binds the credentials to one registry: releases may use them only for its images.
    registry: str | None = None

    @field_validator("expires_at", mode="before")
    @classmethod
    def _expires_at_input(cls, value: Any) -> Any:
        return parse_expiry(value)

    @field_validator("expires_at")
    @classmethod
    def _expires_at(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        return check_given_expiry(value, now=datetime.now(UTC))

    @field_validator("registry")
    @classmethod
    def _registry(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return references.normalize_registry(value)

    @field_validator("label")
    @classmethod
    def _label(cls, value: str) -> str:
        return clean_name(value, what="label", max_length=100)

    @field_validator("username")
    @classmethod
    def _username(cls, value: str) -> str:
        return clean_name(value, what="username", max_length=255, key_max_length=None)

    @field_validator("password")
    @classmethod
    def _password(cls, value: SecretStr) -> SecretStr:
        return SecretStr(normalize_password(value.get_secret_value()))


class UsedBy(BaseModel):
    application_id: uuid.UUID
    application: str
    release_id: uuid.UUID
    version: str
    container_id: uuid.UUID
    container: str
    image: str


class PulledBy(BaseModel):
    device_id: uuid.UUID
    device: str
    last_pulled_at: datetime
    image: str | None


# `expiring` from the warning window (EDGEDOCK_CREDENTIALS_EXPIRY_WARNING_DAYS) before the
# expiry, `expired` from it on, `valid` before the window; null when no expiry is known.
ExpiryState = Literal["valid", "expiring", "expired"]
ExpiresAtSource = Literal["token", "given"]


class CheckRead(BaseModel):
    """The outcome of a check against the registry; `message` is in the registry's own words."""

    ok: bool
    registry: str
    scheme: str | None = Field(description="basic or bearer; null when no login was asked for")
    image: str | None
    checked_at: datetime
    status: str = Field(
        description="ok, unauthorized, denied, manifest_unknown, name_unknown, tls_error, "
        "connection_error, timeout, not_allowed, registry_error"
    )
    message: str
    granted: list[str] = Field(description="actions a Bearer token granted on the image")
    can_push: bool | None = Field(description="null when the registry does not say (Basic)")


class LastCheck(BaseModel):
    """The last check stored on the credentials, shown as their health."""

    at: datetime
    ok: bool
    status: str
    message: str
    image: str | None
    registry: str | None
    can_push: bool | None


class CredentialRead(BaseModel):
    id: uuid.UUID
    label: str
    username: str
    fingerprint: str
    token_kind: str | None
    expires_at: datetime | None
    expires_at_source: ExpiresAtSource | None
    expiry_state: ExpiryState | None
    registry: str | None
    created_at: datetime
    created_by: str
    use_count: int
    in_use_count: int = Field(
        default=0,
        description="Containers of releases that are deployed or their application's highest "
        "version: while this is not 0, deleting needs force (replace them first).",
    )
    last_check: LastCheck | None = None
    used_by: list[UsedBy] | None = None
    pulled_by: list[PulledBy] | None = None


class CredentialReference(BaseModel):
    """One place that breaks when the credentials go: returned with a 409."""

    application: str
    version: str
    container: str
    release_id: uuid.UUID

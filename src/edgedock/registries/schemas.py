"""Brokered registry input and read models. Account secrets appear once, in AccountCreated."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from edgedock import references
from edgedock.registries.tokens import ACTIONS
from edgedock.text import clean_name

# What Distribution accepts as a repository name, plus `*` wildcards.
_PATTERN = re.compile(
    r"^[a-z0-9*]+(?:(?:[._]|__|-+)[a-z0-9*]+)*(?:/[a-z0-9*]+(?:(?:[._]|__|-+)[a-z0-9*]+)*)*$"
)
# An account name is a login name: no colon (Basic auth splits there), no white space.
_ACCOUNT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
_SERVICE = re.compile(r"^[\x21-\x7e]{1,255}$")
MAX_RULES = 50


def _host(value: str) -> str:
    return references.normalize_registry(value)


def _service(value: str) -> str:
    value = value.strip()
    if not _SERVICE.fullmatch(value):
        raise ValueError("service must be 1-255 printable ASCII characters without spaces")
    return value


class RegistryCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: Annotated[str, AfterValidator(_host)] = Field(
        description="The registry as images name it, e.g. registry.example.com:5000"
    )
    service: Annotated[str, AfterValidator(_service)] | None = Field(
        default=None,
        description="The registry's `auth.token.service` (the tokens' audience); "
        "the host when not given.",
    )


class RegistryRead(BaseModel):
    id: uuid.UUID
    host: str
    service: str
    issuer: str
    realm: str
    bundle_url: str
    configuration: str = Field(
        description="The registry's `auth:` section (config.yml), with the bundle's path."
    )
    created_at: datetime
    created_by: str
    accounts: int = 0


class AccessRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    repository: str = Field(description="A repository name; `*` matches any characters.")
    actions: list[str] = Field(min_length=1, max_length=len(ACTIONS))

    @field_validator("repository")
    @classmethod
    def _repository(cls, value: str) -> str:
        value = value.strip()
        if len(value) > 255 or not _PATTERN.fullmatch(value):
            raise ValueError("repository must be a repository name such as team/app or team/*")
        return value

    @field_validator("actions")
    @classmethod
    def _actions(cls, value: list[str]) -> list[str]:
        for action in value:
            if action not in ACTIONS:
                raise ValueError(f"actions must be among {', '.join(ACTIONS)}")
        return list(dict.fromkeys(value))


class AccountCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    access: list[AccessRule] = Field(min_length=1, max_length=MAX_RULES)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = clean_name(value, what="name", max_length=100, key_max_length=None)
        if not _ACCOUNT_NAME.fullmatch(value):
            raise ValueError(
                "name must be a login name: letters, digits, . _ @ -, starting with a letter "
                "or digit"
            )
        return value


class AccountRead(BaseModel):
    id: uuid.UUID
    registry_id: uuid.UUID
    name: str
    access: list[AccessRule]
    created_at: datetime
    created_by: str


class AccountCreated(AccountRead):
    """The one answer that holds the secret: `docker login -u <name> --password-stdin`."""

    secret: str


class SigningCertificate(BaseModel):
    generation: int
    role: str  # previous, current, next
    kid: str
    jwk_thumbprint: str
    certificate: str

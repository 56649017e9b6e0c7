"""Release and container input and read models.

Every rule about one value lives here or, for a container's runtime settings, in
`container_spec` (the one definition the wire and the agent share too), so that a bad value
is a 422 whose `field` names it exactly (`containers[1].port_bindings[0]`). Rules that span
values (a container name used twice) raise a `ValidationError` located at the offending value,
which pydantic nests under the enclosing location just as it does for its own errors.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr, model_validator

from edgedock import container_spec
from edgedock.container_spec import ContainerSettings, ContainerSettingsInput, error_at

MAX_CONTAINERS = 50
VERSION_MAX = 100
_NUM = r"(?:0|[1-9][0-9]*)"
_PRE = r"(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)"
# https://semver.org/#is-there-a-suggested-regular-expression-regex-to-check-a-semver-string
_SEMVER_RE = re.compile(
    rf"{_NUM}\.{_NUM}\.{_NUM}(?:-{_PRE}(?:\.{_PRE})*)?(?:\+[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*)?"
)


def check_version(value: str) -> str:
    value = value.strip()
    if value[:1] in ("v", "V") and _SEMVER_RE.fullmatch(value[1:]):
        raise ValueError("must be a semantic version without a leading 'v', like 1.2.3")
    if len(value) > VERSION_MAX or not _SEMVER_RE.fullmatch(value):
        raise ValueError("must be a semantic version like 1.2.3 or 2.0.0-rc.1")
    return value


ContainerName = Annotated[StrictStr, AfterValidator(container_spec.check_dns_label)]
Image = Annotated[StrictStr, AfterValidator(container_spec.check_image)]
Version = Annotated[StrictStr, AfterValidator(check_version)]


class ContainerCreate(ContainerSettingsInput):
    """A container as an operator gives it: its settings are `container_spec`'s, checked there."""

    name: ContainerName
    image: Image
    image_credentials_id: uuid.UUID | None = None


class ReleaseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    version: Version
    containers: list[ContainerCreate] = Field(min_length=1, max_length=MAX_CONTAINERS)

    @model_validator(mode="after")
    def _container_names_unique(self) -> ReleaseCreate:
        seen: set[str] = set()
        for i, container in enumerate(self.containers):
            if container.name in seen:
                raise error_at(
                    ("containers", i, "name"),
                    f"container name {container.name!r} is used twice in this release",
                )
            seen.add(container.name)
        return self


class CredentialsRef(BaseModel):
    """The credentials a container pulls with; after a forced delete, their tombstone.

    A live reference has `id`, `label` and `username`; a tombstone has `id: null`, the label
    the credentials had, and `deleted_at`.
    """

    id: uuid.UUID | None
    label: str
    username: str | None = None
    deleted_at: datetime | None = None


class ContainerRead(ContainerSettings):
    id: uuid.UUID
    name: str
    image: str = Field(description="The image reference as it was typed.")
    image_canonical: str = Field(description="What the engine pulls: fully qualified, tagged.")
    registry: str = Field(description="The registry domain the image is pulled from.")
    image_credentials_id: uuid.UUID | None
    image_credentials: CredentialsRef | None
    # On one of the tenant's brokered registries: devices pull it with a pull secret.
    brokered: bool = False


WarningCode = Literal[
    "credentials_multiple_registries", "credentials_deleted", "host_port_conflict"
]


class ReleaseWarning(BaseModel):
    """Something that is allowed but probably not what the operator wants."""

    code: WarningCode
    message: str
    containers: list[str]
    credentials_id: uuid.UUID | None = None


class ReleaseRead(BaseModel):
    id: uuid.UUID
    application_id: uuid.UUID
    application: str
    version: str
    created_at: datetime
    created_by: str
    containers: list[ContainerRead]
    warnings: list[ReleaseWarning]

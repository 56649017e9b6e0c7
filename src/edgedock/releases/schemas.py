"""Release and container input and read models.

Every rule about one value lives here, so that a bad value is a 422 whose `field` names it
exactly (`containers[1].port_bindings[0]`). Rules that span values (a container name used twice)
raise a `ValidationError` located at the offending value, which pydantic nests under the
enclosing location just as it does for its own errors.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from edgedock import container_settings, references
from edgedock.wire import RestartPolicy

MAX_CONTAINERS = 50
MAX_ITEMS = 100
MAX_ENV = 200
MAX_TEXT = 32_768
MAX_IMAGE = 500


def error_at(loc: tuple[str | int, ...], message: str) -> ValidationError:
    """A validation error at `loc` below the value being validated."""
    error = PydanticCustomError("value_error", "{message}", {"message": message})
    return ValidationError.from_exception_data(
        "ReleaseCreate", [InitErrorDetails(type=error, loc=loc, input=None)]
    )


def _image(value: str) -> str:
    if len(value) > MAX_IMAGE:
        raise ValueError(f"must be at most {MAX_IMAGE} characters")
    try:
        references.parse(value)
    except references.InvalidReference as exc:
        raise ValueError(f"invalid image reference: {exc.reason}") from None
    return value


def _port_binding(value: str) -> str:
    container_settings.parse_port_binding(value)
    return value


def _bind(value: str) -> str:
    container_settings.parse_bind(value)
    return value


def _version(value: str) -> str:
    return container_settings.check_version(value.strip())


Text = Annotated[
    StrictStr, Field(max_length=MAX_TEXT), AfterValidator(container_settings.check_no_nul)
]
ContainerName = Annotated[StrictStr, AfterValidator(container_settings.check_dns_label)]
Image = Annotated[StrictStr, AfterValidator(_image)]
PortBindingText = Annotated[StrictStr, AfterValidator(_port_binding)]
BindText = Annotated[StrictStr, AfterValidator(_bind)]
NetworkMode = Annotated[StrictStr, AfterValidator(container_settings.check_network_mode)]
Version = Annotated[StrictStr, AfterValidator(_version)]


class ContainerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    name: ContainerName
    image: Image
    image_credentials_id: uuid.UUID | None = None
    env: dict[StrictStr, Text] = Field(default_factory=dict, max_length=MAX_ENV)
    command: list[Text] | None = Field(default=None, min_length=1, max_length=MAX_ITEMS)
    port_bindings: list[PortBindingText] = Field(default_factory=list, max_length=MAX_ITEMS)
    restart_policy: RestartPolicy = "no"
    binds: list[BindText] = Field(default_factory=list, max_length=MAX_ITEMS)
    network_mode: NetworkMode | None = None
    privileged: StrictBool = False

    @field_validator("env")
    @classmethod
    def _env_names(cls, env: dict[str, str]) -> dict[str, str]:
        for name in env:
            try:
                container_settings.check_env_name(name)
            except ValueError as exc:
                raise error_at((name,), str(exc)) from None
        return env

    @model_validator(mode="after")
    def _host_ports_once(self) -> ContainerCreate:
        seen: set[tuple[str | None, int, str]] = set()
        for i, text in enumerate(self.port_bindings):
            binding = container_settings.parse_port_binding(text)
            if binding.host_port is None:
                continue
            key = (binding.host_ip, binding.host_port, binding.protocol)
            if key in seen:
                raise error_at(
                    ("port_bindings", i),
                    f"host port {binding.host_port}/{binding.protocol} is bound twice",
                )
            seen.add(key)
        return self


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


class ContainerRead(BaseModel):
    id: uuid.UUID
    name: str
    image: str = Field(description="The image reference as it was typed.")
    image_canonical: str = Field(description="What the engine pulls: fully qualified, tagged.")
    registry: str = Field(description="The registry domain the image is pulled from.")
    image_credentials_id: uuid.UUID | None
    image_credentials: CredentialsRef | None
    env: dict[str, str]
    command: list[str] | None
    port_bindings: list[str]
    restart_policy: str
    binds: list[str]
    network_mode: str | None
    privileged: bool


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

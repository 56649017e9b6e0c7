"""The replace request and the plan it answers: what a dry run shows is what a real run does."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field

from edgedock.releases.schemas import Version

# More successors than this in one request is a bulk change no one reviews in a dry run.
MAX_VERSIONS = 500


class ReplaceRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, hide_input_in_errors=True)

    new_id: uuid.UUID = Field(alias="with", description="The credentials that take over.")
    dry_run: bool = Field(default=False, description="Answer the plan; change nothing.")
    versions: dict[uuid.UUID, Version] = Field(
        default_factory=dict,
        max_length=MAX_VERSIONS,
        description="A successor version per affected release id (default: the next patch).",
    )
    force: bool = Field(
        default=False,
        description="Go ahead although the new credentials are known for another registry.",
    )
    check: bool = Field(
        default=False,
        description="Check the new credentials against every affected image first.",
    )


class CredentialsSide(BaseModel):
    id: uuid.UUID
    label: str
    username: str
    registry: str | None


class PlannedApplication(BaseModel):
    id: uuid.UUID
    name: str


class PlannedRelease(BaseModel):
    """A successor: the release `from_version` with the new credentials, at `to_version`."""

    application_id: uuid.UUID
    application: str
    from_release_id: uuid.UUID
    from_version: str
    to_version: str
    # Set once the release exists (a real run); null in a dry run.
    to_release_id: uuid.UUID | None = None
    highest: bool = Field(description="The source is its application's highest version.")
    containers: list[str] = Field(description="The containers whose credentials change.")
    images: list[str]


class PlannedUpgrade(BaseModel):
    deployment_id: uuid.UUID
    from_release_id: uuid.UUID
    device_id: uuid.UUID
    device: str
    application: str
    from_version: str
    to_version: str


class PlannedDevice(BaseModel):
    id: uuid.UUID
    name: str


class CheckedImage(BaseModel):
    image: str
    ok: bool
    status: str


class ReplacePlan(BaseModel):
    old: CredentialsSide
    new: CredentialsSide
    dry_run: bool
    applications: list[PlannedApplication]
    releases: list[PlannedRelease]
    deployments: list[PlannedUpgrade]
    devices: list[PlannedDevice]
    overridden: list[str] = Field(
        default_factory=list, description="Conflicts that `force` overrode, in words."
    )
    checked: list[CheckedImage] = Field(default_factory=list)

"""Deployment input and read models."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from edgedock.wire import ContainerStatus, DesiredRun


class DeploymentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    release_id: uuid.UUID
    device_id: uuid.UUID
    desired: DesiredRun = "started"


class DeploymentCreateMany(BaseModel):
    """One release to many devices: created together, or not at all."""

    model_config = ConfigDict(extra="forbid")

    release_id: uuid.UUID
    # A whole fleet in one request: 10,000 ids are about 400 KB, under the body limit.
    device_ids: list[uuid.UUID] = Field(min_length=1, max_length=10_000)
    desired: DesiredRun = "started"


class DeploymentUpgrade(BaseModel):
    model_config = ConfigDict(extra="forbid")

    release_id: uuid.UUID


class ContainerStateRead(BaseModel):
    id: uuid.UUID
    name: str
    image: str
    needs_credentials: bool
    # Pulled with a pull secret from a brokered registry, no stored credentials needed.
    brokered: bool = False
    credentials_id: uuid.UUID | None = None
    credentials_label: str | None
    credentials_deleted: bool
    status: ContainerStatus
    message: str | None
    updated_at: datetime | None


OverallStatus = Literal["pending", "pulling", "created", "running", "stopped", "error", "mixed"]


class DeploymentRead(BaseModel):
    id: uuid.UUID
    device_id: uuid.UUID
    device: str
    application_id: uuid.UUID
    application: str
    release_id: uuid.UUID
    version: str
    desired: DesiredRun
    status: OverallStatus
    created_at: datetime
    updated_at: datetime
    containers: list[ContainerStateRead]


class RunningContainerRead(BaseModel):
    """A container the device's engine holds for the deployment, as its agent last reported."""

    name: str
    image: str
    version: str | None
    state: str
    current: bool = Field(description="Made for the deployment's current release.")


class DeploymentDetail(DeploymentRead):
    summary: str = Field(
        description="What runs and what failed, in one line: "
        "`1.0.0 still running; upgrade to 1.1.0 failed: …`."
    )
    running: list[RunningContainerRead]


class DeploymentBatch(BaseModel):
    items: list[DeploymentRead]


class DeploymentEventRead(BaseModel):
    id: int
    at: datetime = Field(description="When it (first) happened.")
    kind: str
    container_id: uuid.UUID | None
    container: str | None
    message: str
    count: int = Field(1, description="How many times it happened in a row (a retried pull).")
    last_at: datetime | None = Field(None, description="When it last happened, if more than once.")


DeployOutcome = Literal["created", "already_deployed", "refused"]


class DeviceDeployOutcome(BaseModel):
    """What a deploy to several devices did on one of them, and why not where it did not."""

    device_id: uuid.UUID
    device: str | None  # None: no such device (any more)
    outcome: DeployOutcome
    deployment_id: uuid.UUID | None = None  # the new one, or the one in the way
    # The release of the application the device runs instead (refused: upgrade that one).
    runs_version: str | None = None
    reason: str | None = None


class DeploymentUpgradeMany(BaseModel):
    """Move every deployment of one release (on `devices`, when given) to another release."""

    model_config = ConfigDict(extra="forbid")

    from_release: uuid.UUID
    to_release: uuid.UUID
    devices: list[uuid.UUID] | None = Field(default=None, min_length=1, max_length=10_000)


class UpgradeSkipped(BaseModel):
    device_id: uuid.UUID
    device: str | None
    reason: str


class DeploymentUpgradeBatch(BaseModel):
    upgraded: list[DeploymentRead]
    skipped: list[UpgradeSkipped]

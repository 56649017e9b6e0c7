"""The device API protocol: the only schemas the server and the agent share.

Kept free of server imports so that the agent installs without FastAPI or SQLAlchemy.
Nothing in the desired state is secret: a container only says whether it needs credentials.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ContainerStatus = Literal["pending", "pulling", "created", "running", "stopped", "error"]
DesiredRun = Literal["started", "stopped"]
RestartPolicy = Literal["no", "always", "unless-stopped", "on-failure"]

# Labels the agent puts on every container it creates, so that it can rebuild its view of the
# world from the engine alone after a restart (it keeps no state file of its own).
LABEL_MANAGED = "io.edgedock.managed"
LABEL_DEPLOYMENT = "io.edgedock.deployment"
LABEL_CONTAINER = "io.edgedock.container"
LABEL_SPEC_HASH = "io.edgedock.spec-hash"
# The device whose agent made the container, so that agents of several devices can share one
# engine. Containers made before this label existed have none; their agent adopts them.
LABEL_DEVICE = "io.edgedock.device"


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ContainerSpec(_Wire):
    """One container of a deployed release, as the engine must run it."""

    id: str
    name: str
    image: str = Field(description="The pull reference: canonical, with a tag or digest.")
    needs_credentials: bool = False
    env: dict[str, str] = Field(default_factory=dict)
    command: list[str] | None = None
    port_bindings: list[str] = Field(default_factory=list)
    restart_policy: RestartPolicy = "no"
    binds: list[str] = Field(default_factory=list)
    network_mode: str | None = None
    privileged: bool = False


class DeploymentSpec(_Wire):
    id: str
    release_id: str
    application: str
    version: str
    desired: DesiredRun
    containers: list[ContainerSpec]


class DesiredState(_Wire):
    device_id: str
    deployments: list[DeploymentSpec]


class RegistryAuthRequest(_Wire):
    deployment_id: str
    container_id: str


class RegistryAuthResponse(_Wire):
    x_registry_auth: str
    serveraddress: str
    expires_at: datetime | None = None


class EngineInfo(_Wire):
    name: str
    version: str
    os: str | None = None
    arch: str | None = None


class ContainerReport(_Wire):
    deployment_id: str
    container_id: str
    status: ContainerStatus
    message: str | None = None


class StatusEvent(_Wire):
    deployment_id: str
    container_id: str | None = None
    kind: str = Field(max_length=40)
    message: str = Field(max_length=4000)
    # When it happened, on the device's clock (tz-aware). The server stores it as the event's
    # time when it is plausible, and its arrival time otherwise (or when it is absent).
    at: datetime | None = None


class StatusReport(_Wire):
    engine: EngineInfo | None = None
    containers: list[ContainerReport] = Field(default_factory=list, max_length=1000)
    events: list[StatusEvent] = Field(default_factory=list, max_length=1000)

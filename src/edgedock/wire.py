"""The device API protocol: the schemas the server and the agent share.

A container's runtime settings come from `container_spec`, the one definition of them. Both are
kept free of server imports so that the agent installs without FastAPI or SQLAlchemy.
Nothing in the desired state is secret: a container only says whether it needs credentials.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from edgedock.container_spec import ContainerSettings
from edgedock.text import FreeText

ContainerStatus = Literal["pending", "pulling", "created", "running", "stopped", "error"]
DesiredRun = Literal["started", "stopped"]

# Labels the agent puts on every container it creates, so that it can rebuild its view of the
# world from the engine alone after a restart (it keeps no state file of its own).
LABEL_MANAGED = "io.edgedock.managed"
LABEL_DEPLOYMENT = "io.edgedock.deployment"
LABEL_CONTAINER = "io.edgedock.container"
LABEL_SPEC_HASH = "io.edgedock.spec-hash"
# The device whose agent made the container, so that agents of several devices can share one
# engine. Containers made before this label existed have none; their agent adopts them.
LABEL_DEVICE = "io.edgedock.device"
# The release a container was made for, so that the agent can say what runs (an upgrade whose
# pull fails leaves the old release's container running). Older containers have none; the
# server then knows the release from the container id.
LABEL_RELEASE = "io.edgedock.release"
LABEL_VERSION = "io.edgedock.version"


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ContainerSpec(ContainerSettings):
    """One container of a deployed release, as the engine must run it.

    The runtime settings are `ContainerSettings`, the definition the server stores and
    validates with; this adds what identifies the container and what it pulls.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    name: str
    image: str = Field(description="The pull reference: canonical, with a tag or digest.")
    needs_credentials: bool = False


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


# Bounds on what a device sends, checked before anything reaches a column (text.py says why
# NUL and lone surrogates are refused). The agent cuts its own text to these (agent/status.py).
MAX_ID = 64
MAX_ENGINE_TEXT = 100
MAX_KIND = 40
MAX_MESSAGE = 4000
MAX_REPORT_ITEMS = 1000
MAX_CONTAINER_NAME = 255
MAX_IMAGE = 1000
MAX_VERSION = 100
MAX_STATE = 20

Id = Annotated[FreeText, Field(max_length=MAX_ID)]
EngineText = Annotated[FreeText, Field(max_length=MAX_ENGINE_TEXT)]
Message = Annotated[FreeText, Field(max_length=MAX_MESSAGE)]


class RegistryAuthRequest(_Wire):
    deployment_id: Id
    container_id: Id


class RegistryAuthResponse(_Wire):
    x_registry_auth: str
    serveraddress: str
    expires_at: datetime | None = None


class EngineInfo(_Wire):
    name: EngineText
    version: EngineText
    os: EngineText | None = None
    arch: EngineText | None = None


class ContainerReport(_Wire):
    deployment_id: Id
    container_id: Id
    status: ContainerStatus
    message: Message | None = None


class StatusEvent(_Wire):
    deployment_id: Id
    container_id: Id | None = None
    kind: Annotated[FreeText, Field(max_length=MAX_KIND)]
    message: Message
    # When it happened, on the device's clock (tz-aware). The server stores it as the event's
    # time when it is plausible, and its arrival time otherwise (or when it is absent).
    at: datetime | None = None


class RunningContainer(_Wire):
    """One container the engine holds for a deployment of this device, whatever its release.

    ``container_id`` is the release container it was made for (during an upgrade, the old
    release's); ``release_id`` and ``version`` come from its labels when it has them.
    """

    deployment_id: Id
    container_id: Id
    name: Annotated[FreeText, Field(max_length=MAX_CONTAINER_NAME)]
    image: Annotated[FreeText, Field(max_length=MAX_IMAGE)]
    state: Annotated[FreeText, Field(max_length=MAX_STATE)]
    release_id: Id | None = None
    version: Annotated[FreeText, Field(max_length=MAX_VERSION)] | None = None


class StatusReport(_Wire):
    engine: EngineInfo | None = None
    containers: list[ContainerReport] = Field(default_factory=list, max_length=MAX_REPORT_ITEMS)
    events: list[StatusEvent] = Field(default_factory=list, max_length=MAX_REPORT_ITEMS)
    # Everything the engine holds for this device's deployments, sent when it changed; None
    # (an older agent, or nothing changed) leaves what the server knows as it is.
    running: list[RunningContainer] | None = Field(default=None, max_length=MAX_REPORT_ITEMS)

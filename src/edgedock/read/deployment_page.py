"""What a deployment's page shows: what should run, what does run, and what went wrong.

The page and its live fragment (polled by the browser) are built from this one read: the
deployment, what its device's engine last reported running (which, during a failed upgrade,
is the old release), the timeline, and for each failed container the likely cause of its error
with the credentials it used.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from edgedock import pull_errors
from edgedock.deployments.models import Deployment, RunningContainer
from edgedock.deployments.schemas import (
    DeploymentDetail,
    DeploymentEventRead,
    DeploymentRead,
    RunningContainerRead,
)
from edgedock.pagination import Page
from edgedock.read import deployments as deployment_reading
from edgedock.releases.models import Release, ReleaseContainer
from edgedock.text import truncate

RUNNING_STATES = frozenset({"running", "restarting"})


RunningRead = RunningContainerRead


@dataclass(frozen=True, slots=True)
class Problem:
    """A failed container: the engine's words, and what they most likely mean."""

    container: str
    message: str
    cause: pull_errors.PullErrorCause | None
    credentials_id: uuid.UUID | None
    credentials_label: str | None
    credentials_deleted: bool


@dataclass(frozen=True, slots=True)
class DeploymentPage:
    deployment: DeploymentRead
    running: list[RunningRead]
    truth: str  # one line: what runs, and what failed
    tone: str  # ok, bad, busy or idle: how the line is shown
    problems: list[Problem]
    events: Page[DeploymentEventRead]


async def running(session: AsyncSession, deployment: Deployment) -> list[RunningRead]:
    """What the engine holds for the deployment; a version the agent did not label comes from
    the release the container was made for."""
    rows = (
        await session.execute(
            select(RunningContainer, Release.id, Release.version)
            .outerjoin(ReleaseContainer, ReleaseContainer.id == RunningContainer.container_id)
            .outerjoin(Release, Release.id == ReleaseContainer.release_id)
            .where(RunningContainer.deployment_id == deployment.id)
            .order_by(RunningContainer.name)
        )
    ).all()
    found = []
    for row, release_id, version in rows:
        made_for = release_id or row.release_id
        found.append(
            RunningRead(
                name=row.name,
                image=row.image,
                version=row.version or version,
                state=row.state,
                current=made_for == deployment.release_id,
            )
        )
    return found


def truth(read: DeploymentRead, engine: list[RunningRead]) -> tuple[str, str]:
    """The page's one line, and its tone: "1.0.0 still running; upgrade to 1.1.0 failed: …"."""
    versions = sorted({r.version or "?" for r in engine if r.state in RUNNING_STATES})
    old = [v for v in versions if v != read.version]
    failed = next((c for c in read.containers if c.status == "error"), None)
    target = read.version
    if failed is not None:
        # One line: the container's own message carries the whole text (up to its bound).
        said = f"{failed.name}: {truncate(failed.message or 'error', SUMMARY_MESSAGE_CHARS)}"
        if old:
            return f"{', '.join(old)} still running; upgrade to {target} failed: {said}", "bad"
        if target in versions:
            return f"{target} running, but {said}", "bad"
        return f"{target} not running: {said}", "bad"
    if read.desired == "stopped":
        return f"{target} stopped" if not versions else f"{target} stopping", "idle"
    if read.status in ("pending", "pulling", "created"):
        if old:
            return f"{', '.join(old)} still running; upgrading to {target}", "busy"
        return f"{target} {read.status}: waiting for the device", "busy"
    if read.status == "running":
        return f"{target} running", "ok"
    return f"{target} {read.status}", "busy"


def problems(read: DeploymentRead) -> list[Problem]:
    return [
        Problem(
            container=c.name,
            message=c.message or "error",
            cause=pull_errors.cause_of(c.message, used_credentials=c.needs_credentials),
            credentials_id=c.credentials_id,
            credentials_label=c.credentials_label,
            credentials_deleted=c.credentials_deleted,
        )
        for c in read.containers
        if c.status == "error"
    ]


# The summary line quotes at most this much of a container's message; the full text is beside it.
SUMMARY_MESSAGE_CHARS = 300


async def read_page(
    session: AsyncSession, deployment: Deployment, *, events: int = 100
) -> DeploymentPage:
    read = await deployment_reading.read_one(session, deployment)
    engine = await running(session, deployment)
    line, tone = truth(read, engine)
    timeline = await deployment_reading.events(session, deployment=deployment, limit=events)
    return DeploymentPage(read, engine, line, tone, problems(read), timeline)


async def detail(session: AsyncSession, deployment: Deployment) -> DeploymentDetail:
    """The API's view of one deployment: the read model, what runs, and the one line."""
    read = await deployment_reading.read_one(session, deployment)
    engine = await running(session, deployment)
    line, _ = truth(read, engine)
    return DeploymentDetail(**read.model_dump(), summary=line, running=engine)


def fingerprint(html: str) -> str:
    """The live fragment's ETag: the browser's poll gets 304 while nothing changed."""
    return '"' + hashlib.sha256(html.encode()).hexdigest()[:20] + '"'

"""Deployment rows, per-container status, and the event timeline."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from edgedock.db import Base, CreatedAt, new_id, utcnow


class Deployment(CreatedAt, Base):
    __tablename__ = "deployment"
    # One deployment per application and device, held by the database: concurrent deploys each
    # pass any check made before the write, and only the constraint decides between them.
    __table_args__ = (UniqueConstraint("device_id", "application_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenant.id", ondelete="CASCADE"), index=True
    )
    device_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("device.id", ondelete="CASCADE"), index=True
    )
    release_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("release.id", ondelete="RESTRICT"), index=True
    )
    # The release's application, copied here for the constraint above. An upgrade moves only
    # between releases of one application, so it never changes.
    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("application.id", ondelete="RESTRICT"), index=True
    )
    desired: Mapped[str] = mapped_column(String(10), default="started")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ContainerState(Base):
    """What the agent last reported for one container of a deployment."""

    __tablename__ = "container_state"

    deployment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("deployment.id", ondelete="CASCADE"), primary_key=True
    )
    container_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(10))
    message: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeploymentEvent(Base):
    __tablename__ = "deployment_event"
    __table_args__ = (Index("ix_deployment_event_deployment_seq", "deployment_id", "seq"),)

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    deployment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("deployment.id", ondelete="CASCADE")
    )
    container_id: Mapped[uuid.UUID | None]
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text)
    # A device retrying a failed pull reports the same event again and again: repeats of the
    # newest event of a container are counted here (`at` stays the first time) instead of
    # growing the timeline by one row per retry (deployments/reports.py).
    count: Mapped[int] = mapped_column(default=1, server_default="1")
    last_at: Mapped[datetime | None]


class RunningContainer(Base):
    """What the engine of a deployment's device actually runs, as its agent last reported it.

    Replaced wholesale by each report that carries the list. Not keyed by release container:
    during an upgrade the old release's container keeps running under the old container id, and
    that is exactly what the page must show. No foreign key to the release, which may be gone.
    """

    __tablename__ = "running_container"

    deployment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("deployment.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    container_id: Mapped[uuid.UUID | None]
    image: Mapped[str] = mapped_column(String(1000))
    release_id: Mapped[uuid.UUID | None]
    version: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(20))
    reported_at: Mapped[datetime] = mapped_column(default=utcnow)

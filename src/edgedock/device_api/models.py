"""The stored projection of each device's desired state: the body a poll answers, and its ETag."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from edgedock.db import Base, utcnow


class DesiredStateProjection(Base):
    """Written in the transaction of every change to what the device should run.

    A device without a row has nothing deployed (its body is `read.desired_state.empty`).
    """

    __tablename__ = "device_desired_state"

    device_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("device.id", ondelete="CASCADE"), primary_key=True
    )
    etag: Mapped[str] = mapped_column(String(34))
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

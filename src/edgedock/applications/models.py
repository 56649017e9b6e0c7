"""Application rows."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from edgedock.db import Base, CreatedAt, new_id


class Application(CreatedAt, Base):
    __tablename__ = "application"
    __table_args__ = (UniqueConstraint("tenant_id", "name_key"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenant.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    name_key: Mapped[str] = mapped_column(String(400))
    description: Mapped[str] = mapped_column(Text, default="")

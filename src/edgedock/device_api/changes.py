"""The commit hooks that keep the projection, the notifier and this replica's fleet in step."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from edgedock import notify
from edgedock.device_api import projection
from edgedock.device_api.fleet import Fleet

_PENDING = "edgedock.pending_changes"


class ChangeFeed:
    """Registered as a Database's before- and after-commit hooks by the app factory."""

    def __init__(self, fleet: Fleet, notifier: notify.Notifier) -> None:
        self.fleet, self.notifier = fleet, notifier

    async def before_commit(self, session: AsyncSession) -> None:
        """Project the marked devices and queue the notification, in the change's transaction."""
        changed, removed = notify.take_marked(session)
        if not changed and not removed:
            return
        etags = await projection.refresh(session, changed - removed)
        changes: dict[uuid.UUID, str | None] = {d: etags.get(d) for d in changed - removed}
        changes.update(dict.fromkeys(removed))
        await self.notifier.send(session, changes)
        session.info[_PENDING] = changes

    async def after_commit(self, session: AsyncSession) -> None:
        changes = session.info.pop(_PENDING, None)
        if changes:
            self.fleet.apply(changes)

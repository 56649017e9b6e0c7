"""Two replicas sweeping for expired credentials at once: each state is audited exactly once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from edgedock.audit.models import AuditEvent
from edgedock.credentials.expiry import ExpirySweeper
from tests import factories
from tests.credentials import tokens

WEEK = timedelta(days=7)


async def test_concurrent_sweeps_write_one_event_per_credentials_and_state(race_server):
    now = datetime.now(UTC)
    async with race_server.tenant_client() as api:
        expired = [
            await factories.credentials(api, password=tokens.ecr(now - timedelta(hours=i + 1)))
            for i in range(12)
        ]
        expiring = [
            await factories.credentials(api, password=tokens.ecr(now + timedelta(days=2, hours=i)))
            for i in range(12)
        ]
    # Four replicas' sweepers, each on its own connection from the real pool, started together.
    sweepers = [ExpirySweeper(race_server.database, warning=WEEK, interval=60) for _ in range(4)]
    written = await asyncio.gather(*(s.sweep() for s in sweepers))
    assert sum(written) >= 24  # other tests' credentials in the shared database may join
    for made, action in ((expired, "credentials.expired"), (expiring, "credentials.expiring")):
        for creds in made:
            count = await race_server.count(
                AuditEvent,
                AuditEvent.credentials_id == uuid.UUID(creds["id"]),
                AuditEvent.action.like("credentials.exp%"),
            )
            assert count == 1, f"{creds['label']}: {count} expiry events"
            only = await race_server.count(
                AuditEvent,
                AuditEvent.credentials_id == uuid.UUID(creds["id"]),
                AuditEvent.action == action,
            )
            assert only == 1
    assert sum(await asyncio.gather(*(s.sweep() for s in sweepers))) == 0

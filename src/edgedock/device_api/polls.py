"""The device API's hot path: authenticating a device and its long poll for the desired state.

An idle poll whose ETag still matches costs no query when this replica knows the device, and
one (the token lookup, which brings the ETag along) when it does not. A wait holds no database
connection and no thread: only an asyncio.Event in the fleet directory.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, select

from edgedock.crypto import token_hash
from edgedock.db import Database, utcnow
from edgedock.device_api import projection, seen
from edgedock.device_api.fleet import DeviceIdentity, Fleet
from edgedock.device_api.models import DesiredStateProjection
from edgedock.devices.models import Device
from edgedock.errors import Unauthorized

# Seen less recently than this, a device is written as seen at once, not in the next batch.
_BACK_ONLINE = timedelta(seconds=60)


_BY_TOKEN = (
    select(
        Device.id, Device.tenant_id, Device.name, Device.last_seen_at, DesiredStateProjection.etag
    )
    .outerjoin(DesiredStateProjection, DesiredStateProjection.device_id == Device.id)
    .where(Device.token_hash == bindparam("token_hash"))
)


class DeviceTokenInvalid(Unauthorized):
    code = "device_token_invalid"


@dataclass(frozen=True, slots=True)
class PollAnswer:
    etag: str
    body: str | None  # None: not modified


async def authenticate(database: Database, fleet: Fleet, token: str) -> DeviceIdentity:
    """The device holding `token`, from memory when this replica knows it; notes it as seen."""
    hashed = token_hash(token)
    identity = fleet.identity(hashed)
    if identity is None:
        identity = await _load(database, fleet, hashed)
    fleet.saw(identity.id)
    return identity


async def _load(database: Database, fleet: Fleet, hashed: str) -> DeviceIdentity:
    generation = fleet.generation
    async with database.snapshot() as session:
        row = (await session.execute(_BY_TOKEN, {"token_hash": hashed})).first()
    if row is None:
        raise DeviceTokenInvalid("the device token is not valid")
    identity = DeviceIdentity(id=row.id, tenant_id=row.tenant_id, name=row.name)
    fleet.remember(
        hashed, identity, row.etag or projection.empty_etag(row.id), generation=generation
    )
    if row.last_seen_at is None or not timedelta(0) <= utcnow() - row.last_seen_at <= _BACK_ONLINE:
        # A device coming (back) online shows so at once, and a time in the future (a clock
        # stepped back) is corrected at once; the batches only keep it fresh.
        if fleet.write_seen_now is not None:
            await fleet.write_seen_now(identity.id, utcnow())
        else:
            await seen.write_best_effort(database, {identity.id: utcnow()})
    return identity


async def desired_state(
    database: Database,
    fleet: Fleet,
    bodies: projection.BodyReader,
    *,
    token: str,
    if_none_match: str | None,
    wait: float,
) -> PollAnswer:
    """Answer at once when the device's state differs from `if_none_match`, else within `wait`."""
    device = await authenticate(database, fleet, token)
    deadline = time.monotonic() + wait
    with fleet.subscribe(device.id) as changed:
        while True:
            etag = fleet.etag(device.id)
            if etag is None:  # forgotten (a lost notification, or a removal): ask the database
                device = await _load(database, fleet, token_hash(token))
                etag = fleet.etag(device.id) or projection.empty_etag(device.id)
            remaining = deadline - time.monotonic()
            if etag != if_none_match or remaining <= 0 or fleet.closing:
                break
            changed.clear()
            try:
                async with asyncio.timeout(remaining):
                    await changed.wait()
            except TimeoutError:
                return PollAnswer(etag=etag, body=None)
    if etag == if_none_match:
        return PollAnswer(etag=etag, body=None)
    body, etag = await bodies.read(device.id)
    return PollAnswer(etag=etag, body=body)

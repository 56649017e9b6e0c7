"""What one replica keeps in memory about devices, so that an idle poll touches no database.

Per device: who holds which token (by hash), the ETag of its desired state, the polls parked on
it, and when it was last seen (written to the database in batches by `seen.SeenWriter`).
Everything here is a cache of the database, kept right by the change notifications of every
replica (`apply`), and dropped whole when notifications may have been missed (`forget_all`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from edgedock.db import utcnow
from edgedock.notify import Changes


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    """An authenticated device, as the device API needs it (an ORM row would be overkill)."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    name: str


@dataclass(slots=True)
class _Known:
    identity: DeviceIdentity
    token_hash: str
    loaded_at: float


class Fleet:
    """The in-memory directory of devices of one replica.

    Identities expire after `max_age` seconds as a second line of defence: the first is the
    removal notification that every replica receives when a device is deleted.
    """

    def __init__(self, *, max_age: float = 300.0) -> None:
        self.max_age = max_age
        self._by_token: dict[str, _Known] = {}
        self._token_of: dict[uuid.UUID, str] = {}
        self._etags: dict[uuid.UUID, str] = {}
        self._waiters: defaultdict[uuid.UUID, set[asyncio.Event]] = defaultdict(set)
        self._seen: dict[uuid.UUID, datetime] = {}
        # Bumped per device by every change applied to it, and for all by `forget_all`: what
        # was cached about a device under an older stamp is no longer to be trusted.
        self._changes: dict[uuid.UUID, int] = {}
        self._epoch = 0
        # Bumped by every change applied: a database read that started before a change must
        # not overwrite what the change put here (see `remember`).
        self.generation = 0
        self.closing = False
        # Set by the app: writes a device's first sighting at once (seen.SeenWriter.write_now).
        self.write_seen_now: Callable[[uuid.UUID, datetime], Awaitable[None]] | None = None

    # Identities -------------------------------------------------------------------------

    def identity(self, token_hash: str) -> DeviceIdentity | None:
        known = self._by_token.get(token_hash)
        if known is None or time.monotonic() - known.loaded_at > self.max_age:
            return None
        return known.identity

    def remember(
        self, token_hash: str, identity: DeviceIdentity, etag: str, *, generation: int
    ) -> None:
        """Cache what a database read found; `generation` is `self.generation` before it."""
        if generation != self.generation:
            # A change landed meanwhile: the read may predate it. Keep what the change said,
            # and cache no identity (the change may have been this device's removal).
            self._etags.setdefault(identity.id, etag)
            return
        old = self._token_of.get(identity.id)
        if old is not None and old != token_hash:
            self._by_token.pop(old, None)
        self._by_token[token_hash] = _Known(identity, token_hash, time.monotonic())
        self._token_of[identity.id] = token_hash
        self._etags[identity.id] = etag

    def is_known(self, device_id: uuid.UUID) -> bool:
        return device_id in self._token_of

    # Desired-state ETags and parked polls -------------------------------------------------

    def etag(self, device_id: uuid.UUID) -> str | None:
        return self._etags.get(device_id)

    def stamp(self, device_id: uuid.UUID) -> tuple[int, int]:
        """Changes whenever anything about the device changes; take it before a read to cache."""
        return self._epoch, self._changes.get(device_id, 0)

    def apply(self, changes: Changes) -> None:
        """Changes committed on any replica: new ETags, or `None` for a device that is gone."""
        self.generation += 1
        for device_id, etag in changes.items():
            self._changes[device_id] = self._changes.get(device_id, 0) + 1
            if etag is None:
                self._etags.pop(device_id, None)
                token_hash = self._token_of.pop(device_id, None)
                if token_hash is not None:
                    self._by_token.pop(token_hash, None)
            else:
                self._etags[device_id] = etag
            for event in self._waiters.get(device_id, ()):
                event.set()

    def forget_all(self) -> None:
        """Notifications may have been missed: drop every cached fact and wake every poll."""
        self.generation += 1
        self._epoch += 1
        self._changes.clear()
        self._by_token.clear()
        self._token_of.clear()
        self._etags.clear()
        self._wake_all()

    def close(self) -> None:
        """The server is stopping: parked polls answer now instead of holding up the exit."""
        self.closing = True
        self._wake_all()

    def _wake_all(self) -> None:
        for events in self._waiters.values():
            for event in events:
                event.set()

    @contextlib.contextmanager
    def subscribe(self, device_id: uuid.UUID) -> Iterator[asyncio.Event]:
        """Subscribe before looking at the ETag, so that a change in between is not missed."""
        event = asyncio.Event()
        self._waiters[device_id].add(event)
        try:
            yield event
        finally:
            waiters = self._waiters.get(device_id)
            if waiters is not None:
                waiters.discard(event)
                if not waiters:
                    del self._waiters[device_id]

    @property
    def parked(self) -> int:
        return sum(len(events) for events in self._waiters.values())

    # Last seen ------------------------------------------------------------------------------

    def saw(self, device_id: uuid.UUID) -> None:
        self._seen[device_id] = utcnow()

    def take_seen(self) -> dict[uuid.UUID, datetime]:
        seen, self._seen = self._seen, {}
        return seen

    def put_back_seen(self, seen: dict[uuid.UUID, datetime]) -> None:
        """A write of `seen` failed: keep the times for the next one, newer ones winning."""
        for device_id, at in seen.items():
            if device_id not in self._seen:
                self._seen[device_id] = at

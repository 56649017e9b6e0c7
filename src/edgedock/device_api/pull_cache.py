"""What each device may pull, cached per replica between its changes.

Registry auth is asked for before every private pull, and reading the pull target (the
container of the device's deployment and its sealed credentials) is a unit of work that costs
more than everything else registry auth does. The answer only changes when something about the
device changes: a deployment made, upgraded or deleted, or the credentials deleted (which marks
every device that uses them). Each of those reaches every replica as a change notification,
which moves the device's stamp (`Fleet.stamp`), and an entry read under an older stamp is not
used. Only what the database holds is kept: the password stays sealed until the moment it is
encoded for one answer.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import OrderedDict

from edgedock.db import Database
from edgedock.device_api.fleet import Fleet
from edgedock.read import pull_targets
from edgedock.read.pull_targets import PullTarget

Key = pull_targets.Key


class PullTargetCache:
    def __init__(
        self, fleet: Fleet, reader: PullTargetReader, *, max_entries: int = 50_000
    ) -> None:
        self.fleet, self.reader, self.max_entries = fleet, reader, max_entries
        self._entries: OrderedDict[Key, tuple[tuple[int, int], PullTarget]] = OrderedDict()

    def get(self, key: Key) -> PullTarget | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] != self.fleet.stamp(key[0]):
            return None
        self._entries.move_to_end(key)
        return entry[1]

    def put(self, key: Key, target: PullTarget, *, stamp: tuple[int, int]) -> None:
        """Keep `target`, read after `stamp` was taken; dropped if the device changed since."""
        if stamp != self.fleet.stamp(key[0]):
            return
        self._entries[key] = (stamp, target)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def drop(self, key: Key) -> None:
        self._entries.pop(key, None)


class PullTargetReader:
    """Reads the pull targets of registry auths that arrive together, many per query.

    A fleet pulling after a roll-out asks for thousands of different devices' targets at once;
    a unit of work each would cost more than the rest of registry auth. Requests waiting in
    the same turn of the event loop share one snapshot and one query (up to `batch` keys).
    """

    def __init__(self, database: Database, *, batch: int = 500) -> None:
        self.database, self.batch = database, batch
        self._pending: dict[Key, list[asyncio.Future[PullTarget | None]]] = {}
        self._reading: asyncio.Task[None] | None = None

    async def read(self, key: Key) -> PullTarget | None:
        done: asyncio.Future[PullTarget | None] = asyncio.get_running_loop().create_future()
        self._pending.setdefault(key, []).append(done)
        if self._reading is None or self._reading.done():
            self._reading = asyncio.create_task(self._read_pending())
        return await done

    async def _read_pending(self) -> None:
        await asyncio.sleep(0)  # the others arriving in this turn hand in their keys first
        while self._pending:
            keys = list(itertools.islice(self._pending, self.batch))
            waiters = {key: self._pending.pop(key) for key in keys}
            try:
                async with self.database.snapshot() as session:
                    found = await pull_targets.find_many(session, keys)
            except Exception as exc:  # each waiting request fails the way its own read would
                for futures in waiters.values():
                    for done in futures:
                        if not done.done():
                            done.set_exception(exc)
                continue
            for key, futures in waiters.items():
                for done in futures:
                    if not done.done():
                        done.set_result(found.get(key))

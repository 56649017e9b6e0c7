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

import uuid
from collections import OrderedDict

from edgedock.device_api.fleet import Fleet
from edgedock.read.pull_targets import PullTarget

Key = tuple[uuid.UUID, uuid.UUID, uuid.UUID]  # device, deployment, container


class PullTargetCache:
    def __init__(self, fleet: Fleet, *, max_entries: int = 50_000) -> None:
        self.fleet, self.max_entries = fleet, max_entries
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

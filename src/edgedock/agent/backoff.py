"""Bounded exponential backoff with jitter, for failed pulls and an unreachable server.

A device that cannot pull must not hammer the registry, nor the server for registry auth; a
fleet that lost its server must not come back as a thundering herd. Delays double from
``initial`` up to ``maximum`` and are then spread downwards by up to ``jitter`` (a fraction), so
a delay is never above ``maximum`` and never below ``initial * (1 - jitter)``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Generic, TypeVar

KeyT = TypeVar("KeyT")


@dataclass(frozen=True)
class BackoffPolicy:
    initial: float = 2.0
    maximum: float = 300.0
    factor: float = 2.0
    jitter: float = 0.2

    def delay(self, failures: int, rand: Callable[[], float] = random.random) -> float:
        """The wait after the ``failures``-th failure in a row (1 for the first)."""
        exponent = max(0, failures - 1)
        # Capped before it is computed, so a device that fails for a year does not overflow.
        base = (
            self.maximum
            if exponent > 64
            else min(self.maximum, self.initial * self.factor**exponent)
        )
        return base * (1.0 - self.jitter * rand())


PULL_BACKOFF = BackoffPolicy(initial=2.0, maximum=300.0)
SERVER_BACKOFF = BackoffPolicy(initial=1.0, maximum=60.0)


@dataclass
class Failure:
    token: str  # what was being attempted (a spec hash): another token starts afresh
    count: int
    due: float  # clock time of the next attempt
    message: str  # the last error, verbatim, for the status report


class RetryBook(Generic[KeyT]):
    """Per-key failures: whether a key may be tried now, and when the next one is due."""

    def __init__(
        self,
        policy: BackoffPolicy,
        *,
        clock: Callable[[], float],
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._policy = policy
        self._clock = clock
        self._rand = rand
        self._failures: dict[KeyT, Failure] = {}

    def ready(self, key: KeyT, token: str) -> bool:
        failure = self._failures.get(key)
        if failure is None:
            return True
        if failure.token != token:
            del self._failures[key]
            return True
        return self._clock() >= failure.due

    def failed(self, key: KeyT, token: str, message: str) -> float:
        """Record a failure; return the delay until the key may be tried again."""
        previous = self._failures.get(key)
        count = previous.count + 1 if previous and previous.token == token else 1
        delay = self._policy.delay(count, self._rand)
        self._failures[key] = Failure(token, count, self._clock() + delay, message)
        return delay

    def succeeded(self, key: KeyT) -> None:
        self._failures.pop(key, None)

    def failure(self, key: KeyT) -> Failure | None:
        return self._failures.get(key)

    def keep_only(self, keys: Collection[KeyT]) -> None:
        """Forget keys that are gone (deployment deleted, container replaced)."""
        for key in [k for k in self._failures if k not in keys]:
            del self._failures[key]

    def next_due(self) -> float | None:
        return min((f.due for f in self._failures.values()), default=None)

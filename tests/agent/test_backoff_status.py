"""Backoff bounds and the status book: pure pieces of the loop, tested without an engine."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from edgedock import wire
from edgedock.agent.backoff import PULL_BACKOFF, SERVER_BACKOFF, BackoffPolicy, RetryBook
from edgedock.agent.status import MAX_EVENTS, StatusBook, status_of

KEY = ("d-1", "c-1")


@pytest.mark.parametrize("rand", [0.0, 0.5, 1.0])
def test_pull_backoff_doubles_from_2_s_to_5_min(rand: float) -> None:
    delays = [PULL_BACKOFF.delay(n, lambda: rand) for n in range(1, 12)]
    factor = 1 - 0.2 * rand
    expected = [2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]
    assert delays == pytest.approx([d * factor for d in expected])


def test_backoff_stays_within_bounds_for_any_failure_count() -> None:
    policy = BackoffPolicy(initial=1, maximum=60, jitter=0.2)
    for failures in (1, 2, 10, 65, 66, 10_000):
        for rand in (0.0, 0.999):
            assert 0.8 <= policy.delay(failures, (lambda r: lambda: r)(rand)) <= 60
    assert SERVER_BACKOFF.delay(100_000, lambda: 0.0) == 60


def test_retry_book_waits_then_allows_next_attempt() -> None:
    now = [100.0]
    book: RetryBook[tuple[str, str]] = RetryBook(PULL_BACKOFF, clock=lambda: now[0], rand=lambda: 0)
    assert book.ready(KEY, "h1")
    assert book.failed(KEY, "h1", "unauthorized") == 2
    assert not book.ready(KEY, "h1") and book.next_due() == 102
    now[0] = 102
    assert book.ready(KEY, "h1")
    assert book.failed(KEY, "h1", "unauthorized") == 4
    failure = book.failure(KEY)
    assert failure is not None and (failure.count, failure.message) == (2, "unauthorized")


def test_retry_book_starts_afresh_for_another_spec() -> None:
    book: RetryBook[tuple[str, str]] = RetryBook(PULL_BACKOFF, clock=lambda: 0.0, rand=lambda: 0)
    book.failed(KEY, "h1", "x")
    book.failed(KEY, "h1", "x")
    assert book.ready(KEY, "h2")  # the spec changed: no waiting for the old failures
    assert book.failure(KEY) is None
    assert book.failed(KEY, "h2", "y") == 2


def test_retry_book_forgets_succeeded_and_gone_keys() -> None:
    book: RetryBook[tuple[str, str]] = RetryBook(PULL_BACKOFF, clock=lambda: 0.0)
    book.failed(KEY, "h", "x")
    book.failed(("d-2", "c-2"), "h", "x")
    book.succeeded(KEY)
    book.keep_only({KEY})
    assert book.failure(KEY) is None and book.next_due() is None


@pytest.mark.parametrize(
    ("engine_state", "status"),
    [
        ("running", "running"),
        ("restarting", "running"),
        ("created", "created"),
        ("exited", "stopped"),
        ("paused", "stopped"),
        ("removing", "pending"),
    ],
)
def test_status_of_maps_engine_states(engine_state: str, status: str) -> None:
    assert status_of(engine_state) == status


def _book() -> StatusBook:
    return StatusBook(now=lambda: datetime(2026, 11, 27, tzinfo=UTC))


def test_status_book_reports_only_changes_once_delivered() -> None:
    book = _book()
    book.set_engine(wire.EngineInfo(name="Podman Engine", version="4.3.1"))
    book.set(KEY, "pulling")
    first = book.pending()
    assert first is not None and first.engine is not None
    assert [c.status for c in first.containers] == ["pulling"]
    book.delivered(first)
    assert book.pending() is None
    book.set(KEY, "pulling")
    assert book.pending() is None  # unchanged: nothing to send
    book.set(KEY, "error", "unauthorized: authentication required")
    book.event(KEY, "pull_failed", "unauthorized: authentication required")
    second = book.pending()
    assert second is not None and second.engine is None
    assert [(c.status, c.message) for c in second.containers] == [
        ("error", "unauthorized: authentication required")
    ]
    assert [e.kind for e in second.events] == ["pull_failed"]


def test_status_book_keeps_undelivered_events_capped() -> None:
    book = _book()
    for n in range(MAX_EVENTS + 5):
        book.event(KEY, "pull_failed", f"attempt {n}")
    report = book.pending()
    assert report is not None and len(report.events) == MAX_EVENTS
    assert report.events[0].message == "attempt 5"  # the oldest were dropped
    book.event(KEY, "pulled", "later")
    book.delivered(report)
    remaining = book.pending()
    assert remaining is not None and [e.message for e in remaining.events] == ["later"]


def test_status_book_forgets_containers_no_longer_desired() -> None:
    book = _book()
    book.set(KEY, "running")
    book.event(KEY, "started", "started")
    book.keep_only(set())
    assert book.pending() is None and book.get(KEY) is None


def test_status_book_truncates_long_messages() -> None:
    book = _book()
    book.set(KEY, "error", "x" * 10_000)
    book.event(KEY, "k" * 100, "y" * 10_000)
    report = book.pending()
    assert report is not None
    assert len(report.containers[0].message or "") == 4000
    assert len(report.events[0].kind) == 40 and len(report.events[0].message) == 4000


def _managed(name: str, *, state: str = "running", version: str | None = "1.0.0") -> Any:
    from edgedock.agent.engine import ManagedContainer

    return ManagedContainer(
        device_id="dev-1",
        deployment_id="d-1",
        container_id="c-1",
        spec_hash="h",
        engine_id=f"e-{name}",
        name=name,
        state=state,
        image="localhost:5055/team/app:1.0",
        release_id="r-1" if version else None,
        version=version,
    )


def test_status_book_sends_what_runs_only_when_it_changed() -> None:
    book = StatusBook(now=lambda: datetime.now(UTC))
    assert book.pending() is None, "nothing known yet: nothing to say"
    book.set_running([_managed("edgedock-app-d1")])
    first = book.pending()
    assert first is not None and first.running is not None
    (running,) = first.running
    assert (running.name, running.version, running.state) == ("edgedock-app-d1", "1.0.0", "running")
    book.delivered(first)
    book.set_running([_managed("edgedock-app-d1")])
    assert book.pending() is None, "the same list again is not resent"
    book.set_running([_managed("edgedock-app-d1", state="exited")])
    changed = book.pending()
    assert changed is not None and changed.running is not None
    assert changed.running[0].state == "exited"
    book.delivered(changed)
    book.set_running([])
    emptied = book.pending()
    assert emptied is not None and emptied.running == [], "nothing runs any more: said so"


def test_status_book_cuts_what_runs_to_the_protocol_bounds() -> None:
    book = StatusBook(now=lambda: datetime.now(UTC))
    book.set_running([_managed("n" * 400, version="v" * 300)])
    report = book.pending()
    assert report is not None and report.running is not None
    (running,) = report.running
    assert len(running.name) <= wire.MAX_CONTAINER_NAME
    assert running.version is not None and len(running.version) <= wire.MAX_VERSION
    wire.StatusReport.model_validate(report.model_dump(mode="json"))  # the server takes it

"""The agent cuts what an engine said to the protocol's bounds, so the server never refuses it."""

from __future__ import annotations

from datetime import UTC, datetime

from edgedock import wire
from edgedock.agent.status import StatusBook


def test_engine_text_with_nul_surrogates_and_excess_length_makes_a_valid_report():
    book = StatusBook(now=lambda: datetime(2026, 1, 1, tzinfo=UTC))
    key = ("d" * 36, "c" * 36)
    hostile = "denied\x00: \udc80" + "x" * 10_000
    book.set(key, "error", hostile)
    book.event(key, "pull\x00_failed" + "k" * 100, hostile)
    report = book.pending()
    assert report is not None
    # What the server does with the body: validate it from JSON.
    again = wire.StatusReport.model_validate_json(report.model_dump_json())
    (event,) = again.events
    assert len(event.message) == wire.MAX_MESSAGE and "\x00" not in event.message
    assert len(event.kind) <= wire.MAX_KIND
    assert again.containers[0].message == event.message

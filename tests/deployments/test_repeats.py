"""A device retrying a refused pull: one timeline entry and one `pull.failed` record, counted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.deployments import fleet

REFUSED = "unauthorized: authentication required"


async def _setup(api: httpx.AsyncClient) -> tuple[dict[str, Any], ...]:
    creds, _, release = await fleet.private_release(api)
    device = await fleet.device(api)
    deployment = await fleet.deploy(api, release["id"], device["id"])
    container = next(c for c in release["containers"] if c["name"] == "app")
    return creds, device, deployment, container


def _event(
    deployment: dict[str, Any], container: dict[str, Any], kind: str, message: str, at: datetime
) -> dict[str, Any]:
    return {
        "deployment_id": deployment["id"],
        "container_id": container["id"],
        "kind": kind,
        "message": message,
        "at": at.isoformat(),
    }


async def _report(app: Any, token: str, **report: Any) -> None:
    async with fleet.device_client(app, token) as agent:
        answer = await agent.post("/device/v1/status", json=report)
    assert answer.status_code == 204, answer.text


async def _timeline(api: httpx.AsyncClient, deployment: dict[str, Any]) -> list[dict[str, Any]]:
    answer = await api.get(f"/api/v1/deployments/{deployment['id']}/events")
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


async def _failures(api: httpx.AsyncClient, deployment: dict[str, Any]) -> list[dict[str, Any]]:
    page = await api.get(
        "/api/v1/audit-events", params={"action": "pull.failed", "resource_id": deployment["id"]}
    )
    return list(page.json()["items"])


async def test_repeated_failure_is_one_entry_and_one_record_with_a_count(api, app):
    creds, device, deployment, container = await _setup(api)
    first = datetime.now(UTC) - timedelta(minutes=5)
    state = {"deployment_id": deployment["id"], "container_id": container["id"]}
    await _report(
        app,
        device["token"],
        containers=[{**state, "status": "error", "message": REFUSED}],
        events=[_event(deployment, container, "pull_failed", REFUSED, first)],
    )
    for n in range(1, 6):  # retries, each reported on its own, then two in one report
        at = first + timedelta(seconds=10 * n)
        await _report(
            app, device["token"], events=[_event(deployment, container, "pull_failed", REFUSED, at)]
        )
    last = first + timedelta(seconds=70)
    await _report(
        app,
        device["token"],
        events=[
            _event(deployment, container, "pull_failed", REFUSED, first + timedelta(seconds=60)),
            _event(deployment, container, "pull_failed", REFUSED, last),
        ],
    )
    failed = [e for e in await _timeline(api, deployment) if e["kind"] == "pull_failed"]
    assert len(failed) == 1
    assert failed[0]["count"] == 8
    assert datetime.fromisoformat(failed[0]["at"]) == first
    assert datetime.fromisoformat(failed[0]["last_at"]) == last
    (record,) = await _failures(api, deployment)
    assert record["count"] == 8
    assert record["credentials_id"] == creds["id"]
    assert datetime.fromisoformat(record["last_at"]) >= datetime.fromisoformat(record["at"])


async def test_another_failure_or_a_pull_in_between_starts_a_new_entry(api, app):
    _, device, deployment, container = await _setup(api)
    now = datetime.now(UTC)
    other = "manifest unknown: manifest unknown"
    for i, message in enumerate([REFUSED, REFUSED, other, REFUSED]):
        at = now + timedelta(seconds=i)
        await _report(
            app, device["token"], events=[_event(deployment, container, "pull_failed", message, at)]
        )
    failed = [e for e in await _timeline(api, deployment) if e["kind"] == "pull_failed"]
    assert [(e["message"], e["count"]) for e in reversed(failed)] == [
        (REFUSED, 2),
        (other, 1),
        (REFUSED, 1),
    ]
    # The audit record of a distinct failure stays open until a pull works: REFUSED counts 3.
    records = {r["details"]["message"]: r["count"] for r in await _failures(api, deployment)}
    assert records == {REFUSED: 3, other: 1}
    await _report(
        app,
        device["token"],
        events=[_event(deployment, container, "pulled", "pulled it", now + timedelta(seconds=9))],
    )
    await _report(
        app,
        device["token"],
        events=[_event(deployment, container, "pull_failed", REFUSED, now + timedelta(seconds=10))],
    )
    counts = sorted(
        r["count"] for r in await _failures(api, deployment) if r["details"]["message"] == REFUSED
    )
    assert counts == [1, 3], "after a pull that worked, the same failure is a new record"


async def test_every_registry_auth_stays_audited_one_by_one(api, app):
    creds, device, deployment, container = await _setup(api)
    body = {"deployment_id": deployment["id"], "container_id": container["id"]}
    async with fleet.device_client(app, device["token"]) as agent:
        for _ in range(3):
            assert (await agent.post("/device/v1/registry-auth", json=body)).status_code == 200
    page = await api.get(
        "/api/v1/audit-events",
        params={"action": "registry_auth.issued", "credentials_id": creds["id"]},
    )
    issued = page.json()["items"]
    assert len(issued) == 3 and all(e["count"] == 1 for e in issued)

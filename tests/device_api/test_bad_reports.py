"""What a device sends is bounded and checked: a bad report is a 422 that writes nothing.

A refused report is one the agent drops (it never resends a 4xx), so a device is never stuck
behind it; the truncation of audit summaries keeps a valid report from being refused.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import func, select

from edgedock.deployments.models import ContainerState, DeploymentEvent
from tests.deployments import fleet

STATUS = "/device/v1/status"


async def _deployed(api):
    creds, app, release = await fleet.private_release(api)
    device = await fleet.device(api, "gw-1")
    deployment = await fleet.deploy(api, release["id"], device["id"])
    container = next(c for c in release["containers"] if c["name"] == "app")
    return device, deployment, container


async def _rows(database) -> tuple[int, int]:
    async with database.transaction() as session:
        events = await session.scalar(select(func.count()).select_from(DeploymentEvent))
        states = await session.scalar(select(func.count()).select_from(ContainerState))
    return int(events or 0), int(states or 0)


def _event(deployment, container, **fields):
    return {
        "deployment_id": deployment["id"],
        "container_id": container["id"],
        "kind": "pull_failed",
        "message": "pull failed",
        "at": datetime.now(UTC).isoformat(),
        **fields,
    }


def _state(deployment, container, **fields):
    return {
        "deployment_id": deployment["id"],
        "container_id": container["id"],
        "status": "error",
        **fields,
    }


BAD_ITEMS = [
    ("events", {"message": "bad\x00byte"}, "events[0].message"),
    ("events", {"kind": "pull\x00failed"}, "events[0].kind"),
    ("events", {"message": "m" * 4001}, "events[0].message"),
    ("events", {"kind": "k" * 41}, "events[0].kind"),
    ("events", {"deployment_id": "d" * 65}, "events[0].deployment_id"),
    ("containers", {"message": "bad\x00byte"}, "containers[0].message"),
    ("containers", {"message": "m" * 4001}, "containers[0].message"),
]


async def test_bad_report_is_refused_and_nothing_written(api, app, database):
    """NUL, over-long messages, kinds and ids: each a 422 naming the value."""
    device, deployment, container = await _deployed(api)
    before = await _rows(database)
    async with fleet.device_client(app, device["token"]) as agent:
        for part, fields, field in BAD_ITEMS:
            item = (_event if part == "events" else _state)(deployment, container, **fields)
            response = await agent.post(STATUS, json={part: [item]})
            assert response.status_code == 422, (field, response.text)
            assert response.json()["error"]["field"] == field
    assert await _rows(database) == before


async def test_report_with_lone_surrogate_in_a_message_is_refused(api, app, database):
    device, deployment, container = await _deployed(api)
    body = json.dumps({"events": [_event(deployment, container, message="PLACEHOLDER")]})
    before = await _rows(database)
    async with fleet.device_client(app, device["token"]) as agent:
        response = await agent.post(
            STATUS,
            content=body.replace("PLACEHOLDER", "broken \\ud800 text").encode(),
            headers={"Content-Type": "application/json"},
        )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == "events[0].message"
    assert await _rows(database) == before


async def test_engine_name_with_lone_surrogate_is_refused_and_never_stored(api, app):
    device, *_ = await _deployed(api)
    body = '{"engine": {"name": "Docker\\udc80", "version": "27.0"}}'
    async with fleet.device_client(app, device["token"]) as agent:
        response = await agent.post(
            STATUS, content=body.encode(), headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == "engine.name"
    listed = await api.get("/api/v1/devices")
    assert listed.status_code == 200
    assert listed.json()["items"][0]["engine"] is None


async def test_report_with_too_many_events_is_refused(api, app, database):
    device, deployment, container = await _deployed(api)
    before = await _rows(database)
    events = [_event(deployment, container, kind="created")] * 1001
    async with fleet.device_client(app, device["token"]) as agent:
        response = await agent.post(STATUS, json={"events": events})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == "events"
    assert await _rows(database) == before


async def test_pull_failure_with_a_long_message_is_accepted_and_audited_truncated(api, app):
    device, deployment, container = await _deployed(api)
    message = "denied: " + "x" * 3990
    async with fleet.device_client(app, device["token"]) as agent:
        response = await agent.post(
            STATUS,
            json={
                "containers": [_state(deployment, container, message=message)],
                "events": [_event(deployment, container, message=message)],
            },
        )
    assert response.status_code == 204, response.text
    audit = (await api.get("/api/v1/audit-events", params={"action": "pull.failed"})).json()
    (event,) = audit["items"]
    assert len(event["summary"]) == 500 and event["summary"].endswith("…")
    assert len(event["details"]["message"]) == 1000
    answer = await api.get(f"/api/v1/deployments/{deployment['id']}")
    state = next(c for c in answer.json()["containers"] if c["id"] == container["id"])
    assert state["message"] == message
    assert len(answer.content) < 8000, "the deployment answer stays small"


async def test_registry_auth_request_with_oversized_or_broken_id_is_refused(api, app):
    device, deployment, container = await _deployed(api)
    async with fleet.device_client(app, device["token"]) as agent:
        long_id = await agent.post(
            "/device/v1/registry-auth",
            json={"deployment_id": "d" * 10_000, "container_id": container["id"]},
        )
        surrogate = await agent.post(
            "/device/v1/registry-auth",
            content=b'{"deployment_id": "\\ud800", "container_id": "c"}',
            headers={"Content-Type": "application/json"},
        )
    assert long_id.status_code == 422 and long_id.json()["error"]["field"] == "deployment_id"
    assert len(long_id.content) < 2000
    assert surrogate.status_code == 422 and surrogate.json()["error"]["field"] == "deployment_id"

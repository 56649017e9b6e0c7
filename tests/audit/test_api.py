"""The audit trail: each action recorded once, filterable, per tenant, and never a secret."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests import factories

URL = "/api/v1/audit-events"


async def _all(api, **params):
    items = []
    query = {"limit": 200, **params}
    while True:
        page = (await api.get(URL, params=query)).json()
        items += page["items"]
        if not page["next_cursor"]:
            return items
        query["cursor"] = page["next_cursor"]


async def _story(api, password):
    """Credentials, an application, a release using them, then every kind of delete."""
    creds = await factories.credentials(api, label="Hub", password=password)
    app = await factories.application(api, name="Shop")
    release = await factories.release(
        api, app["id"], containers=[factories.container(image_credentials_id=creds["id"])]
    )
    await api.delete(f"/api/v1/image-credentials/{creds['id']}", params={"force": "true"})
    await api.delete(f"/api/v1/releases/{release['id']}")
    await api.delete(f"/api/v1/applications/{app['id']}")
    return creds, app, release


async def test_each_action_is_recorded_once_newest_first(api):
    creds, app, release = await _story(api, factories.unique_password())
    events = await _all(api)
    assert [(e["action"], e["resource_type"], e["resource_id"]) for e in events] == [
        ("applications.deleted", "application", app["id"]),
        ("releases.deleted", "release", release["id"]),
        ("credentials.deleted", "image_credentials", creds["id"]),
        ("releases.credentials_referenced", "release", release["id"]),
        ("releases.created", "release", release["id"]),
        ("applications.created", "application", app["id"]),
        ("credentials.created", "image_credentials", creds["id"]),
    ]
    assert {e["actor"] for e in events} == {"token:acme-admin"}
    by_action = {e["action"]: e for e in events}
    assert by_action["credentials.deleted"]["details"]["forced"] is True
    assert by_action["releases.created"]["details"]["credentials_ids"] == [creds["id"]]
    assert by_action["releases.created"]["details"]["version"] == "1.0.0"
    assert by_action["releases.credentials_referenced"]["credentials_id"] == creds["id"]
    assert by_action["releases.credentials_referenced"]["details"]["containers"] == ["web"]


async def test_audit_trail_contains_no_planted_password(api):
    password = factories.unique_password("planted")
    app = await factories.application(api)
    creds = await factories.credentials(api, password=password + "\n")
    await factories.release(
        api,
        app["id"],
        containers=[
            factories.container(
                image_credentials_id=creds["id"],
                env={"REGISTRY_PASSWORD": password},
                command=["login", password],
            )
        ],
    )
    await _story(api, password)
    events = await _all(api)
    assert len(events) >= 9
    text = json.dumps(events)
    assert password not in text
    assert password.encode().hex() not in text
    assert "REGISTRY_PASSWORD" not in text


async def test_filter_by_credentials_finds_every_release_that_uses_them(api):
    hub = await factories.credentials(api, label="Hub")
    ghcr = await factories.credentials(api, label="GHCR")
    app = await factories.application(api)
    both = await factories.release(
        api,
        app["id"],
        version="1.0.0",
        containers=[
            factories.container("a", "acme/a", image_credentials_id=hub["id"]),
            factories.container("b", "ghcr.io/acme/b", image_credentials_id=ghcr["id"]),
        ],
    )
    only_hub = await factories.release(
        api,
        app["id"],
        version="1.1.0",
        containers=[factories.container("a", "acme/a", image_credentials_id=hub["id"])],
    )
    await factories.release(api, app["id"], version="1.2.0")
    hub_events = await _all(api, credentials_id=hub["id"])
    assert [(e["action"], e["resource_id"]) for e in hub_events] == [
        ("releases.credentials_referenced", only_hub["id"]),
        ("releases.credentials_referenced", both["id"]),
        ("credentials.created", hub["id"]),
    ]
    ghcr_events = await _all(api, credentials_id=ghcr["id"])
    assert [e["resource_id"] for e in ghcr_events] == [both["id"], ghcr["id"]]


async def test_filter_by_resource_and_action(api):
    app = await factories.application(api)
    release = await factories.release(api, app["id"])
    await factories.application(api)
    by_resource = await _all(api, resource_type="release", resource_id=release["id"])
    assert [e["action"] for e in by_resource] == ["releases.created"]
    created = await _all(api, action="applications.created")
    assert len(created) == 2
    assert await _all(api, resource_type="application", resource_id=app["id"]) == [created[1]]


async def test_filter_by_time_window(api):
    await factories.application(api)
    now = datetime.now(UTC)
    assert len(await _all(api, since=(now - timedelta(minutes=5)).isoformat())) == 1
    assert await _all(api, since=(now + timedelta(minutes=5)).isoformat()) == []
    assert await _all(api, until=(now - timedelta(minutes=5)).isoformat()) == []
    naive = (now - timedelta(minutes=5)).replace(tzinfo=None).isoformat()
    assert len(await _all(api, since=naive)) == 1


async def test_filter_by_device_finds_nothing_without_device_events(api):
    await factories.application(api)
    assert await _all(api, device_id=str(uuid.uuid4())) == []


async def test_list_audit_events_paginates(api):
    for i in range(5):
        await factories.application(api, name=f"app-{i}")
    seen = []
    params: dict[str, str | int] = {"limit": 2}
    while True:
        page = (await api.get(URL, params=params)).json()
        seen += [e["details"]["name"] for e in page["items"]]
        if not page["next_cursor"]:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == [f"app-{i}" for i in reversed(range(5))]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"cursor": "x"}, "cursor"),
        ({"credentials_id": "nope"}, "credentials_id"),
        ({"device_id": "nope"}, "device_id"),
        ({"since": "yesterday"}, "since"),
        ({"action": "a" * 61}, "action"),
    ],
)
async def test_audit_events_refuses_bad_query_with_422(api, params, field):
    response = await api.get(URL, params=params)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == field


async def test_audit_events_are_per_tenant(api, other_api):
    creds = await factories.credentials(api)
    await factories.application(api)
    assert await _all(other_api) == []
    assert await _all(other_api, credentials_id=creds["id"]) == []


async def test_audit_events_need_a_token(anonymous):
    assert (await anonymous.get(URL)).status_code == 401

"""Every list pages with one keyset cursor type: complete, stable, and forged cursors are 422s."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests import factories
from tests.deployments import fleet


def forge(value: Any) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


async def _world(api) -> dict[str, str]:
    """Three of everything a list shows; returns the URL of each list."""
    for i in range(3):
        await factories.credentials(api, label=f"Creds {i}")
    app = await factories.application(api, name="Shop")
    for name in ("Blog", "Wiki"):
        await factories.application(api, name=name)
    releases = [await factories.release(api, app["id"], version=f"1.0.{i}") for i in range(3)]
    devices = [await fleet.device(api, f"gw-{i}") for i in range(3)]
    deployments = [await fleet.deploy(api, releases[0]["id"], d["id"]) for d in devices]
    first = deployments[0]["id"]
    for action in ("stop", "start", "stop"):
        assert (await api.post(f"/api/v1/deployments/{first}/{action}")).status_code == 200
    return {
        "credentials": "/api/v1/image-credentials",
        "applications": "/api/v1/applications",
        "releases": f"/api/v1/applications/{app['id']}/releases",
        "devices": "/api/v1/devices",
        "deployments": "/api/v1/deployments",
        "audit_events": "/api/v1/audit-events",
        "deployment_events": f"/api/v1/deployments/{first}/events",
    }


async def _walk(api, url: str, limit: int) -> list[Any]:
    ids, params = [], {"limit": limit}
    while True:
        response = await api.get(url, params=params)
        assert response.status_code == 200, (url, response.text)
        page = response.json()
        ids += [item["id"] for item in page["items"]]
        if not page["next_cursor"]:
            return ids
        params["cursor"] = page["next_cursor"]


async def test_every_list_walks_page_by_page_to_the_whole_list(api):
    for name, url in (await _world(api)).items():
        whole = await _walk(api, url, 200)
        assert len(whole) >= 3, name
        assert await _walk(api, url, 1) == whole, name
        assert await _walk(api, url, 2) == whole, name


FORGED = {
    "not base64": "%%%",
    "not JSON": forge(b"\xff\xfe"),
    "deep JSON": forge(b"[" * 1500 + b"]" * 1500),
    "an object": forge({"a": 1}),
    "[true]": forge([True]),
    "[10**30]": forge([10**30]),
    "no list name": forge(["x", "00000000-0000-0000-0000-000000000000"]),
}


def _forged_for(name: str) -> dict[str, str]:
    """Cursors with the list's own name but values of the wrong type, size or text."""
    uuid0 = "00000000-0000-0000-0000-000000000000"
    if name in ("audit_events", "deployment_events"):
        values = [[True], [10**30], [-1], [1.5], ["1"], [1, 2]]
    elif name in ("releases", "deployments"):
        values = [
            ["2026-01-01T00:00:00", uuid0],  # no zone
            ["0001-01-01T00:00:00+01:00", uuid0],  # past the calendar once in UTC
            ["2026-01-01T00:00:00+00:00", "not-an-id"],
            ["2026-01-01T00:00:00+00:00", 7],
            [True, uuid0],
        ]
    else:
        values = [["gw\ud800", uuid0], ["x" * 401, uuid0], [1, uuid0], ["gw", uuid0, 1]]
    out = {f"{name} {v!r}"[:60]: forge([name, *v]) for v in values}
    return {**FORGED, **out}


async def test_forged_cursor_is_a_422_on_cursor_for_every_list(api):
    for name, url in (await _world(api)).items():
        for what, cursor in _forged_for(name).items():
            response = await api.get(url, params={"cursor": cursor})
            assert response.status_code == 422, (name, what, response.text)
            assert response.json()["error"]["field"] == "cursor", (name, what)


async def test_cursor_of_one_list_is_refused_by_another(api):
    urls = await _world(api)
    page = (await api.get(urls["devices"], params={"limit": 1})).json()
    response = await api.get(urls["credentials"], params={"cursor": page["next_cursor"]})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "cursor"


async def test_deployments_cursor_survives_the_deletion_of_its_row(api):
    """The cursor holds the sort key, not the row: page 2 follows page 1 even once it is gone."""
    urls = await _world(api)
    whole = await _walk(api, urls["deployments"], 200)
    first = (await api.get(urls["deployments"], params={"limit": 1})).json()
    assert [item["id"] for item in first["items"]] == whole[:1]
    assert (await api.delete(f"/api/v1/deployments/{whole[0]}")).status_code == 204
    second = await api.get(urls["deployments"], params={"limit": 1, "cursor": first["next_cursor"]})
    assert [item["id"] for item in second.json()["items"]] == whole[1:2]


@pytest.mark.parametrize("length", [4097, 20_000])
async def test_oversized_cursor_is_a_422(api, length):
    response = await api.get("/api/v1/devices", params={"cursor": "A" * length})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "cursor"


async def test_name_list_cursor_after_the_longest_folded_name_is_accepted(api):
    """A name folding to 397 characters (794 UTF-8 bytes) pages on: its key is in the cursor."""
    for suffix in ("a", "b"):
        await fleet.device(api, "\ufdfa" * 22 + suffix)
    page = (await api.get("/api/v1/devices", params={"limit": 1})).json()
    following = await api.get("/api/v1/devices", params={"limit": 1, "cursor": page["next_cursor"]})
    assert following.status_code == 200, following.text
    assert following.json()["items"][0]["name"].endswith("b")

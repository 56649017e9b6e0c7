"""No input answers 500: each class of bad text is a 4xx in the JSON envelope, and nothing is written.

Bodies holding a lone surrogate are sent as raw JSON (`"\\ud800"`), as a hostile client would:
an encoder on the client side would refuse to produce them.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from sqlalchemy import func, select

from edgedock.applications.models import Application
from edgedock.credentials.models import ImageCredential
from edgedock.devices.models import Device
from tests import factories

CREDS = "/api/v1/image-credentials"
APPS = "/api/v1/applications"
DEVICES = "/api/v1/devices"

INVISIBLE = {
    "zero-width space": "a\u200bb",
    "right-to-left mark": "a\u200fb",
    "right-to-left override": "a\u202eb",
    "line separator": "a\u2028b",
    "paragraph separator": "a\u2029b",
    "word joiner": "a\u2060b",
    "invisible plus": "a\u2064b",
    "byte order mark": "\ufeffab",
    "soft hyphen": "a\u00adb",
    "bell": "a\x07b",
    "NUL": "a\x00b",
}
# (endpoint, body without the field, field, row model)
NAME_FIELDS = [
    (CREDS, {"username": "robot", "password": "pw"}, "label", ImageCredential),
    (CREDS, {"label": "Hub", "password": "pw"}, "username", ImageCredential),
    (APPS, {}, "name", Application),
    (DEVICES, {}, "name", Device),
]
NAME_IDS = ["credentials.label", "credentials.username", "applications.name", "devices.name"]


async def count(database, model) -> int:
    async with database.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def assert_invalid(response, field: str, status: int = 422) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] and error["message"]
    assert error.get("field") == field, error
    return error


async def post_raw(client, url: str, text: str):
    return await client.post(
        url, content=text.encode(), headers={"Content-Type": "application/json"}
    )


@pytest.mark.parametrize(("url", "body", "field", "model"), NAME_FIELDS, ids=NAME_IDS)
async def test_name_with_invisible_character_is_refused_and_nothing_written(
    api, database, url, body, field, model
):
    before = await count(database, model)
    for what, name in INVISIBLE.items():
        response = await api.post(url, json={**body, field: name})
        error = assert_invalid(response, field)
        assert name not in error["message"], what
    assert await count(database, model) == before


@pytest.mark.parametrize(("url", "body", "field", "model"), NAME_FIELDS, ids=NAME_IDS)
async def test_name_with_lone_surrogate_is_refused_and_nothing_written(
    api, database, url, body, field, model
):
    text = json.dumps({**body, field: "PLACEHOLDER"}).replace("PLACEHOLDER", "ab\\ud800")
    response = await post_raw(api, url, text)
    assert_invalid(response, field)
    assert await count(database, model) == 0


@pytest.mark.parametrize(
    ("url", "body", "field", "model"),
    [NAME_FIELDS[0], NAME_FIELDS[2], NAME_FIELDS[3]],
    ids=["credentials.label", "applications.name", "devices.name"],
)
async def test_name_whose_folded_key_overflows_is_refused(api, database, url, body, field, model):
    name = "\ufdfa" * 30  # 30 characters, 540 once NFKC-folded: more than the key column holds
    response = await api.post(url, json={**body, field: name})
    error = assert_invalid(response, field)
    assert "normalised" in error["message"]
    assert await count(database, model) == 0


async def test_name_that_folds_long_but_fits_is_accepted(api):
    name = "\ufdfa" * 22  # 396 characters folded: the key still fits
    response = await api.post(DEVICES, json={"name": name})
    assert response.status_code == 201, response.text
    assert response.json()["name"] == name


async def test_description_with_lone_surrogate_is_refused(api, database):
    response = await post_raw(api, APPS, '{"name": "Shop", "description": "x\\udfff"}')
    assert_invalid(response, "description")
    assert await count(database, Application) == 0


async def test_description_keeps_line_breaks(api):
    app = await factories.application(api, description="first line\nsecond line")
    assert app["description"] == "first line\nsecond line"


DEEP = b"[" * 3000 + b"]" * 3000  # past the JSON decoder's recursion limit, within 16 KiB


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@pytest.mark.parametrize(
    "password",
    [
        _b64(b'{"alg":"HS256"}') + "." + _b64(DEEP) + ".sig",
        _b64(b'{"alg":"HS256","x":' + DEEP + b"}") + "." + _b64(b"{}") + ".sig",
        _b64(b'{"payload":' + DEEP + b',"datakey":"k","expiration":1}'),
    ],
    ids=["jwt claims", "jwt header", "ecr envelope"],
)
async def test_password_shaped_like_a_token_with_deeply_nested_json_is_opaque(api, password):
    response = await api.post(
        CREDS, json={"label": "Nested", "username": "u", "password": password}
    )
    assert response.status_code == 201, response.text
    assert response.json()["token_kind"] is None


async def test_long_escaped_label_shared_by_many_containers_is_audited_truncated(api):
    """A summary built from user input grows past its column: the release is still created."""
    label = "\\'\"" * 33  # 99 characters that `!r` escapes into about twice as many
    creds = await factories.credentials(api, label=label)
    app = await factories.application(api)
    image = "registry.example.com/" + "team/" * 40 + "app:1.0"
    containers = [
        factories.container(f"c{i}", image, image_credentials_id=creds["id"]) for i in range(9)
    ]
    release = await factories.release(api, app["id"], containers=containers)
    events = (await api.get("/api/v1/audit-events", params={"resource_id": release["id"]})).json()
    referenced = next(
        e for e in events["items"] if e["action"] == "releases.credentials_referenced"
    )
    assert len(referenced["summary"]) == 500 and referenced["summary"].endswith("…")


EDGES = [
    "0001-01-01T00:00:00+01:00",
    "0001-01-01T00:00:00",
    "9999-12-31T23:59:59.999999-01:00",
    "9999-12-31T23:59:59.999999+00:00",
    "9999-12-31T23:59:59.999999",
]


@pytest.mark.parametrize("bound", ["since", "until"])
async def test_time_filter_at_the_calendar_edge_is_answered(api, bound):
    await factories.application(api)
    for value in EDGES:
        response = await api.get("/api/v1/audit-events", params={bound: value})
        assert response.status_code == 200, (value, response.text)
        expected = 1 if (bound == "since") == value.startswith("0001") else 0
        assert len(response.json()["items"]) == expected, value


async def test_time_filter_beyond_the_calendar_is_a_422(api):
    for value in ["10000-01-01T00:00:00", "1e30", "0000-12-31T00:00:00", "\x00"]:
        response = await api.get("/api/v1/audit-events", params={"since": value})
        assert_invalid(response, "since")


async def test_search_query_with_nul_is_a_422(api):
    response = await api.get(DEVICES, params={"q": "gw\x00"})
    assert_invalid(response, "q")


async def test_lone_surrogate_in_a_key_or_id_is_a_422_not_a_500(api):
    """Error messages and fields that would name the bad value are made encodable first."""
    app = await factories.application(api)
    release = await post_raw(
        api,
        f"{APPS}/{app['id']}/releases",
        '{"version": "1.0.0", "containers": [{"name": "web", "image": "nginx:1", '
        '"env": {"A\\ud800": "x"}}]}',
    )
    assert release.status_code == 422, release.text
    deployment = await post_raw(
        api, "/api/v1/deployments", '{"release_id": "\\ud800", "device_id": "\\ud800"}'
    )
    assert_invalid(deployment, "release_id")
    unknown = await post_raw(api, APPS, '{"name": "Shop", "\\udfff": 1}')
    assert unknown.status_code == 422, unknown.text

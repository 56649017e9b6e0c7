"""Writing under a parent while it is deleted: 404 or 409, never a 500 from a foreign key."""

from __future__ import annotations

import uuid

from edgedock.applications.models import Application
from edgedock.deployments.models import Deployment
from edgedock.devices.models import Device
from edgedock.releases.models import Release
from tests import factories
from tests.support.races import codes, together

DEPLOYMENTS = "/api/v1/deployments"


async def _device(api, name="gw-1") -> str:
    response = await api.post("/api/v1/devices", json={"name": name})
    assert response.status_code == 201, response.text
    device_id: str = response.json()["id"]
    return device_id


async def test_deploys_while_the_device_is_deleted_answer_201_or_404(race_server):
    async with race_server.tenant_client() as api:
        releases = []
        for i in range(8):
            app = await factories.application(api, name=f"app-{i}")
            releases.append(await factories.release(api, app["id"]))
        device = await _device(api)
        deploys = [
            api.post(DEPLOYMENTS, json={"release_id": r["id"], "device_id": device})
            for r in releases
        ]
        responses = await together(
            *deploys[:4], api.delete(f"/api/v1/devices/{device}"), *deploys[4:]
        )
    deleted = responses.pop(4)
    assert deleted.status_code == 204, deleted.text
    assert {r.status_code for r in responses} <= {201, 404}, [r.text for r in responses]
    assert codes(responses) <= {"device_not_found"}
    assert await race_server.count(Device, Device.id == uuid.UUID(device)) == 0
    assert await race_server.count(Deployment, Deployment.device_id == uuid.UUID(device)) == 0


async def test_deploys_while_the_release_is_deleted_answer_404_or_the_delete_409(race_server):
    async with race_server.tenant_client() as api:
        app = await factories.application(api)
        release = await factories.release(api, app["id"])
        devices = [await _device(api, f"gw-{i}") for i in range(8)]
        deploys = [
            api.post(DEPLOYMENTS, json={"release_id": release["id"], "device_id": d})
            for d in devices
        ]
        delete = api.delete(f"/api/v1/releases/{release['id']}")
        responses = await together(deploys[0], delete, *deploys[1:])
    deleted = responses.pop(1)
    made = [r for r in responses if r.status_code == 201]
    assert {r.status_code for r in responses} <= {201, 404}, [r.text for r in responses]
    assert codes(responses) <= {"release_not_found"}
    release_id = uuid.UUID(release["id"])
    if deleted.status_code == 409:
        assert deleted.json()["error"]["code"] == "release_deployed"
        assert made
        assert await race_server.count(Release, Release.id == release_id) == 1
    else:
        assert deleted.status_code == 204, deleted.text
        assert made == []
        assert await race_server.count(Release, Release.id == release_id) == 0
    assert await race_server.count(Deployment, Deployment.release_id == release_id) == len(made)


async def test_deploys_while_the_application_is_deleted_answer_404_or_the_delete_409(
    race_server,
):
    async with race_server.tenant_client() as api:
        app = await factories.application(api)
        release = await factories.release(api, app["id"])
        devices = [await _device(api, f"gw-{i}") for i in range(8)]
        deploys = [
            api.post(DEPLOYMENTS, json={"release_id": release["id"], "device_id": d})
            for d in devices
        ]
        delete = api.delete(f"/api/v1/applications/{app['id']}")
        responses = await together(deploys[0], delete, *deploys[1:])
    deleted = responses.pop(1)
    made = [r for r in responses if r.status_code == 201]
    assert {r.status_code for r in responses} <= {201, 404}, [r.text for r in responses]
    assert codes(responses) <= {"release_not_found"}
    app_id = uuid.UUID(app["id"])
    if deleted.status_code == 409:
        assert deleted.json()["error"]["code"] in {"application_deployed", "release_deployed"}
        assert made
        assert await race_server.count(Application, Application.id == app_id) == 1
    else:
        assert deleted.status_code == 204, deleted.text
        assert made == []
        assert await race_server.count(Application, Application.id == app_id) == 0
    assert await race_server.count(Deployment, Deployment.application_id == app_id) == len(made)


async def test_release_creates_while_the_application_is_deleted_answer_201_or_404(race_server):
    async with race_server.tenant_client() as api:
        app = await factories.application(api)
        url = f"/api/v1/applications/{app['id']}/releases"
        creates = [
            api.post(url, json={"version": f"1.0.{i}", "containers": [factories.container()]})
            for i in range(8)
        ]
        delete = api.delete(f"/api/v1/applications/{app['id']}")
        responses = await together(*creates[:4], delete, *creates[4:])
    deleted = responses.pop(4)
    # Releases made before the delete looked are deleted with the application.
    assert deleted.status_code == 204, deleted.text
    assert {r.status_code for r in responses} <= {201, 404}, [r.text for r in responses]
    assert codes(responses) <= {"application_not_found"}
    app_id = uuid.UUID(app["id"])
    assert await race_server.count(Application, Application.id == app_id) == 0
    assert await race_server.count(Release, Release.application_id == app_id) == 0

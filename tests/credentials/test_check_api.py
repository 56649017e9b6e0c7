"""`POST /api/v1/image-credentials/{id}/check` and create with `check`, on SQLite and PostgreSQL,
against the real registries of tests/credentials/conftest.py."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select

from edgedock.actors import Actor
from edgedock.audit import service as audit_service
from edgedock.devices.models import Device
from tests import factories
from tests.credentials.conftest import CheckRegistry

URL = "/api/v1/image-credentials"
AUDIT = "/api/v1/audit-events"


async def _stored(api, registry: CheckRegistry, username: str, password: str | None = None):
    return await factories.credentials(
        api, username=username, password=password or registry.users[username]
    )


async def _events(api, credential_id: str, action: str = "credentials.checked") -> list[dict]:
    page = await api.get(AUDIT, params={"credentials_id": credential_id, "action": action})
    assert page.status_code == 200, page.text
    return page.json()["items"]


async def test_check_answers_the_outcome_and_stores_it_as_health(api, basic_registry):
    created = await _stored(api, basic_registry, "deployer")
    response = await api.post(f"{URL}/{created['id']}/check", json={"image": basic_registry.image})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {
        "ok",
        "registry",
        "scheme",
        "image",
        "checked_at",
        "status",
        "message",
        "granted",
        "can_push",
    }
    assert (body["ok"], body["status"], body["scheme"]) == (True, "ok", "basic")
    assert body["registry"] == basic_registry.host and body["image"] == basic_registry.image
    detail = (await api.get(f"{URL}/{created['id']}")).json()
    assert detail["last_check"]["ok"] is True
    assert detail["last_check"]["status"] == "ok"
    assert detail["last_check"]["image"] == basic_registry.image
    stored_at = datetime.fromisoformat(detail["last_check"]["at"].replace("Z", "+00:00"))
    answered_at = datetime.fromisoformat(body["checked_at"].replace("Z", "+00:00"))
    assert abs((stored_at - answered_at).total_seconds()) < 0.001  # the same time, as stored
    (listed,) = [c for c in (await api.get(URL)).json()["items"] if c["id"] == created["id"]]
    assert listed["last_check"]["status"] == "ok"
    (event,) = await _events(api, created["id"])
    assert event["details"]["ok"] is True and event["details"]["status"] == "ok"
    assert event["details"]["image"] == basic_registry.image


async def test_a_refused_check_is_a_200_with_ok_false_and_is_stored(api, basic_registry):
    created = await _stored(api, basic_registry, "deployer", password=factories.unique_password())
    body = (
        await api.post(f"{URL}/{created['id']}/check", json={"image": basic_registry.image})
    ).json()
    assert (body["ok"], body["status"]) == (False, "unauthorized")
    assert "authentication required" in body["message"]
    detail = (await api.get(f"{URL}/{created['id']}")).json()
    assert detail["last_check"]["ok"] is False and detail["last_check"]["status"] == "unauthorized"
    (event,) = await _events(api, created["id"])
    assert event["details"]["status"] == "unauthorized"


async def test_credentials_that_can_push_are_flagged_in_list_and_detail(api, bearer_registry):
    created = await _stored(api, bearer_registry, "pusher")
    body = (
        await api.post(f"{URL}/{created['id']}/check", json={"image": bearer_registry.image})
    ).json()
    assert body["ok"] and body["scheme"] == "bearer"
    assert body["granted"] == ["pull", "push"] and body["can_push"] is True
    assert (await api.get(f"{URL}/{created['id']}")).json()["last_check"]["can_push"] is True
    (listed,) = [c for c in (await api.get(URL)).json()["items"] if c["id"] == created["id"]]
    assert listed["last_check"]["can_push"] is True


async def test_bearer_no_pull_right_is_denied(api, bearer_registry):
    created = await _stored(api, bearer_registry, "stranger")
    body = (
        await api.post(f"{URL}/{created['id']}/check", json={"image": bearer_registry.image})
    ).json()
    assert (body["ok"], body["status"]) == (False, "denied")


async def test_check_without_image_uses_an_image_a_release_names_them_for(api, basic_registry):
    created = await _stored(api, basic_registry, "deployer")
    app = await factories.application(api)
    container = factories.container(image=basic_registry.image, image_credentials_id=created["id"])
    await factories.release(api, app["id"], containers=[container])
    response = await api.post(f"{URL}/{created['id']}/check")
    assert response.status_code == 200, response.text
    assert response.json()["image"] == basic_registry.image and response.json()["ok"]


async def test_check_without_image_prefers_the_image_last_pulled(
    api, database, tenant, basic_registry
):
    created = await _stored(api, basic_registry, "deployer")
    app = await factories.application(api)
    release = await factories.release(
        api,
        app["id"],
        containers=[
            factories.container(
                image=f"{basic_registry.host}/team/old:1", image_credentials_id=created["id"]
            )
        ],
    )
    await factories.deployment_row(database, tenant_id=tenant.id, release_id=release["id"])
    async with database.transaction() as session:
        device_id = await session.scalar(select(Device.id).where(Device.tenant_id == tenant.id))
        await audit_service.record(
            session,
            actor=Actor(tenant_id=tenant.id, name="device:gw-1"),
            action="pull.succeeded",
            resource_type="device",
            resource_id=device_id,
            credentials_id=uuid.UUID(created["id"]),
            device_id=device_id,
            summary="pulled",
            details={"image": basic_registry.image},
        )
    body = (await api.post(f"{URL}/{created['id']}/check", json={})).json()
    assert body["image"] == basic_registry.image and body["ok"]


async def test_check_without_any_image_is_a_422_and_stores_nothing(api):
    created = await factories.credentials(api)
    response = await api.post(f"{URL}/{created['id']}/check", json={})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "check_needs_image"
    assert (await api.get(f"{URL}/{created['id']}")).json()["last_check"] is None
    assert await _events(api, created["id"]) == []


async def test_check_without_any_image_checks_the_login_on_the_bound_registry(api, basic_registry):
    response = await api.post(
        URL,
        json={
            "label": f"bound-{uuid.uuid4().hex[:6]}",
            "username": "deployer",
            "password": basic_registry.users["deployer"],
            "registry": basic_registry.host,
        },
    )
    assert response.status_code == 201, response.text
    checked = await api.post(f"{URL}/{response.json()['id']}/check", json={})
    assert checked.status_code == 200, checked.text
    body = checked.json()
    assert (body["ok"], body["registry"], body["image"]) == (True, basic_registry.host, None)


async def test_check_of_an_invalid_image_is_a_422_on_image(api):
    created = await factories.credentials(api)
    response = await api.post(f"{URL}/{created['id']}/check", json={"image": "Not A Reference"})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "image"


async def test_check_of_unknown_or_foreign_credentials_is_a_404(api, other_api):
    theirs = await factories.credentials(other_api)
    for credential_id in (theirs["id"], str(uuid.uuid4()), "not-an-id"):
        response = await api.post(f"{URL}/{credential_id}/check", json={"image": "nginx"})
        assert response.status_code == 404, credential_id


async def test_check_needs_an_api_token(anonymous):
    response = await anonymous.post(f"{URL}/{uuid.uuid4()}/check", json={"image": "nginx"})
    assert response.status_code == 401


async def test_create_with_check_stores_credentials_the_registry_accepts(api, bearer_registry):
    response = await api.post(
        URL,
        json={
            "label": "Reader",
            "username": "reader",
            "password": bearer_registry.users["reader"],
            "check": {"image": bearer_registry.image},
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["last_check"]["ok"] is True and body["last_check"]["can_push"] is False
    (event,) = await _events(api, body["id"])
    assert event["details"]["status"] == "ok"


async def test_create_with_check_refused_is_a_422_with_the_registry_words_and_writes_nothing(
    api, bearer_registry
):
    password = factories.unique_password()
    response = await api.post(
        URL,
        json={
            "label": "Wrong",
            "username": "reader",
            "password": password,
            "check": {"image": bearer_registry.image},
        },
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "registry_refused"
    assert "incorrect username or password" in error["message"]
    assert error["check"]["status"] == "unauthorized"
    assert password not in response.text
    assert (await api.get(URL)).json()["items"] == []
    assert (await api.get(AUDIT)).json()["items"] == []


async def test_create_with_check_but_no_image_is_a_422(api):
    response = await api.post(
        URL, json={"label": "x", "username": "u", "password": "p", "check": {}}
    )
    assert response.status_code == 422
    assert (await api.get(URL)).json()["items"] == []

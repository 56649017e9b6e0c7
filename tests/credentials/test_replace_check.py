"""Replace with `check: true`, against the real htpasswd registry of tests/credentials/conftest.py:
new credentials the registry refuses stop the replace with its words, and change nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from edgedock.releases.models import Release
from tests import factories
from tests.credentials.conftest import CheckRegistry

URL = "/api/v1/image-credentials"


async def _in_use(api, database, tenant, registry: CheckRegistry):
    old = await factories.credentials(api, username="deployer", password=registry.users["deployer"])
    app = await factories.application(api)
    release = await factories.release(
        api,
        app["id"],
        version="1.0.0",
        containers=[factories.container("app", registry.image, image_credentials_id=old["id"])],
    )
    await factories.deployment_row(database, tenant_id=tenant.id, release_id=release["id"])
    return old


async def _releases(database) -> int:
    async with database.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(Release)))


async def test_check_refusing_the_new_credentials_stops_the_replace(
    api, database, tenant, basic_registry
):
    old = await _in_use(api, database, tenant, basic_registry)
    wrong = factories.unique_password("wrong")
    new = await factories.credentials(api, username="deployer", password=wrong)
    before = await _releases(database)
    for dry_run in (True, False):
        response = await api.post(
            f"{URL}/{old['id']}/replace",
            json={"with": new["id"], "check": True, "dry_run": dry_run},
        )
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "registry_refused"
        assert basic_registry.image in error["message"]
        assert "unauthorized" in error["message"]
        assert error["check"]["ok"] is False
        assert wrong not in response.text
    assert await _releases(database) == before
    detail = (await api.get(f"{URL}/{new['id']}")).json()
    assert detail["last_check"]["ok"] is False  # stored as the new credentials' health
    assert wrong not in str(detail)


async def test_check_accepting_the_new_credentials_lets_the_replace_run(
    api, database, tenant, basic_registry
):
    old = await _in_use(api, database, tenant, basic_registry)
    new = await factories.credentials(
        api, label="fresh", username="deployer", password=basic_registry.users["deployer"]
    )
    response = await api.post(f"{URL}/{old['id']}/replace", json={"with": new["id"], "check": True})
    assert response.status_code == 200, response.text
    plan = response.json()
    assert plan["checked"] == [{"image": basic_registry.image, "ok": True, "status": "ok"}]
    assert [r["to_version"] for r in plan["releases"]] == ["1.0.1"]
    assert len(plan["deployments"]) == 1

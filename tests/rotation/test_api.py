"""POST /image-credentials/{old}/replace: the plan, a dry run that agrees with the real run,
conflicts that change nothing, and the old credentials deletable without force afterwards."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from edgedock.audit.models import AuditEvent
from edgedock.deployments.models import Deployment
from edgedock.releases.models import Release, ReleaseContainer
from tests import factories
from tests.credentials import tokens
from tests.rotation.fleet import CREDS, fleet, replace


async def _counts(database) -> dict[str, int]:
    async with database.transaction() as session:
        return {
            model.__name__: int(await session.scalar(select(func.count()).select_from(model)))
            for model in (Release, ReleaseContainer, Deployment, AuditEvent)
        } | {
            "on_releases": [
                tuple(row)
                for row in (
                    await session.execute(
                        select(Deployment.id, Deployment.release_id).order_by(Deployment.id)
                    )
                ).all()
            ]
        }


def _without_outcome(plan: dict) -> dict:
    """The plan minus what only a real run can know (the successors' ids) and the flag."""
    return {
        **plan,
        "dry_run": None,
        "releases": [{**r, "to_release_id": None} for r in plan["releases"]],
    }


async def test_dry_run_answers_the_plan_and_changes_nothing(api, database, tenant):
    f = await fleet(api, database, tenant.id)
    before = await _counts(database)
    response = await replace(api, f.old["id"], **{"with": f.new["id"], "dry_run": True})
    assert response.status_code == 200, response.text
    plan = response.json()
    assert plan["dry_run"] is True
    assert plan["old"]["id"] == f.old["id"] and plan["new"]["label"] == "new"
    assert plan["applications"] == [{"id": f.shop["id"], "name": "Shop"}]
    assert [(r["from_version"], r["to_version"], r["highest"]) for r in plan["releases"]] == [
        ("1.4.2", "1.4.3", False),
        ("1.5.0", "1.5.1", True),
    ]
    assert all(r["containers"] == ["web"] and r["to_release_id"] is None for r in plan["releases"])
    assert sorted(
        (d["device"], d["from_version"], d["to_version"]) for d in plan["deployments"]
    ) == [("gw-1", "1.4.2", "1.4.3"), ("gw-2", "1.4.2", "1.4.3")]
    assert [d["name"] for d in plan["devices"]] == ["gw-1", "gw-2"]
    assert await _counts(database) == before


async def test_real_run_does_what_the_dry_run_planned(api, database, tenant):
    f = await fleet(api, database, tenant.id)
    before = (await api.get(f"{CREDS}/{f.old['id']}")).json()
    assert (before["use_count"], before["in_use_count"]) == (3, 2)
    body = {"with": f.new["id"]}
    dry = (await replace(api, f.old["id"], **body, dry_run=True)).json()
    response = await replace(api, f.old["id"], **body)
    assert response.status_code == 200, response.text
    done = response.json()
    assert done["dry_run"] is False
    assert _without_outcome(done) == _without_outcome(dry)
    for planned in done["releases"]:
        successor = (await api.get(f"/api/v1/releases/{planned['to_release_id']}")).json()
        source = (await api.get(f"/api/v1/releases/{planned['from_release_id']}")).json()
        assert successor["version"] == planned["to_version"]
        web, cache = successor["containers"]
        assert web["image_credentials_id"] == f.new["id"]
        assert cache["image_credentials_id"] is None
        strip = {"id", "image_credentials_id", "image_credentials"}
        assert [
            {k: v for k, v in c.items() if k not in strip} for c in successor["containers"]
        ] == [{k: v for k, v in c.items() if k not in strip} for c in source["containers"]]
    successor_142 = done["releases"][0]["to_release_id"]
    for deployment_id in f.deployments:
        got = (await api.get(f"/api/v1/deployments/{deployment_id}")).json()
        assert got["release_id"] == successor_142
    # The old credentials now back no deployed or highest release: deleting needs no force.
    detail = (await api.get(f"{CREDS}/{f.old['id']}")).json()
    assert (detail["use_count"], detail["in_use_count"]) == (3, 0)
    listed = {c["label"]: c["in_use_count"] for c in (await api.get(CREDS)).json()["items"]}
    assert listed == {"old": 0, "new": 2}
    assert (await api.delete(f"{CREDS}/{f.old['id']}")).status_code == 204


async def test_real_run_is_audited_step_by_step(api, database, tenant):
    f = await fleet(api, database, tenant.id)
    assert (await replace(api, f.old["id"], **{"with": f.new["id"]})).status_code == 200

    async def events(action: str) -> list[dict]:
        page = await api.get("/api/v1/audit-events", params={"action": action})
        return page.json()["items"]

    (replaced,) = await events("credentials.replaced")
    assert replaced["credentials_id"] == f.old["id"]
    assert "2 new release(s) in 1 application(s)" in replaced["summary"]
    assert "2 deployment(s) upgraded on 2 device(s)" in replaced["summary"]
    assert [(r["from"], r["to"]) for r in replaced["details"]["releases"]] == [
        ("1.4.2", "1.4.3"),
        ("1.5.0", "1.5.1"),
    ]
    created = await events("releases.created")
    assert {e["details"]["version"] for e in created} >= {"1.4.3", "1.5.1"}
    assert len(await events("deployments.upgraded")) == 2


async def test_nothing_to_replace_is_an_empty_plan(api, database, tenant):
    old = await factories.credentials(api, label="unused")
    new = await factories.credentials(api, label="fresh")
    response = await replace(api, old["id"], **{"with": new["id"]})
    assert response.status_code == 200, response.text
    plan = response.json()
    assert plan["releases"] == plan["deployments"] == plan["devices"] == []


async def test_a_taken_version_is_409_and_changes_nothing(api, database, tenant):
    f = await fleet(api, database, tenant.id)
    # 1.4.3 exists (without credentials): the successor of the deployed 1.4.2 cannot take it.
    await factories.release(api, f.shop["id"], version="1.4.3")
    before = await _counts(database)
    response = await replace(api, f.old["id"], **{"with": f.new["id"]})
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error["code"] == "version_taken"
    assert "'Shop' already has a release 1.4.3" in error["message"]
    assert error["field"] == f"versions.{f.shop_142['id']}"
    assert error["conflicts"] == [
        {"application": "Shop", "version": "1.4.3", "release_id": f.shop_142["id"]}
    ]
    assert await _counts(database) == before
    # A version given for that release resolves it.
    given = {f.shop_142["id"]: "1.4.4"}
    response = await replace(api, f.old["id"], **{"with": f.new["id"], "versions": given})
    assert response.status_code == 200, response.text
    assert [r["to_version"] for r in response.json()["releases"]] == ["1.4.4", "1.5.1"]


async def test_two_successors_wanting_one_version_is_409(api, database, tenant):
    f = await fleet(api, database, tenant.id)
    given = {f.shop_142["id"]: "1.6.0", f.shop_150["id"]: "1.6.0"}
    before = await _counts(database)
    response = await replace(api, f.old["id"], **{"with": f.new["id"], "versions": given})
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "version_taken"
    assert await _counts(database) == before


async def test_a_version_that_is_not_plain_semver_must_be_given(api, database, tenant):
    old = await factories.credentials(api)
    new = await factories.credentials(api)
    app = await factories.application(api, name="Beta")
    rc = await factories.release(
        api,
        app["id"],
        version="2.0.0-rc.1",
        containers=[factories.container("web", "ghcr.io/a/w:rc", image_credentials_id=old["id"])],
    )
    response = await replace(api, old["id"], **{"with": new["id"]})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "version_needed"
    assert "Beta 2.0.0-rc.1" in error["message"] and error["field"] == f"versions.{rc['id']}"
    given = {rc["id"]: "2.0.0-rc.2"}
    response = await replace(api, old["id"], **{"with": new["id"], "versions": given})
    assert response.status_code == 200, response.text
    assert response.json()["releases"][0]["to_version"] == "2.0.0-rc.2"


async def test_the_highest_release_successor_must_be_higher(api, database, tenant):
    f = await fleet(api, database, tenant.id)
    given = {f.shop_150["id"]: "1.4.9"}
    response = await replace(api, f.old["id"], **{"with": f.new["id"], "versions": given})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "version_not_higher"


async def test_a_version_for_a_release_not_in_the_plan_is_422(api, database, tenant):
    f = await fleet(api, database, tenant.id)
    given = {f.other_200["id"]: "2.0.1"}
    response = await replace(api, f.old["id"], **{"with": f.new["id"], "versions": given})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "version_not_planned"
    assert error["field"] == f"versions.{f.other_200['id']}"


@pytest.mark.parametrize("bad", ["v1.2.3", "1.2", "", "x" * 101])
async def test_a_bad_given_version_is_422(api, database, tenant, bad):
    f = await fleet(api, database, tenant.id)
    given = {f.shop_142["id"]: bad}
    response = await replace(api, f.old["id"], **{"with": f.new["id"], "versions": given})
    assert response.status_code == 422, response.text


async def test_unknown_same_and_deleted_ids(api, database, tenant):
    old = await factories.credentials(api)
    new = await factories.credentials(api)
    unknown = str(uuid.uuid4())
    cases = [
        (unknown, {"with": new["id"]}, 404, "credentials_not_found", None),
        ("not-a-uuid", {"with": new["id"]}, 404, "credentials_not_found", None),
        (old["id"], {"with": unknown}, 404, "credentials_not_found", "with"),
        (old["id"], {"with": old["id"]}, 422, "same_credentials", "with"),
        (old["id"], {"with": "nope"}, 422, None, None),
        (old["id"], {}, 422, None, None),
        (old["id"], {"with": new["id"], "surprise": 1}, 422, None, None),
    ]
    for old_id, body, status, code, field in cases:
        response = await replace(api, old_id, **body)
        assert response.status_code == status, (old_id, body, response.text)
        if code:
            assert response.json()["error"]["code"] == code
        if field:
            assert response.json()["error"]["field"] == field
    assert (await api.delete(f"{CREDS}/{new['id']}")).status_code == 204
    response = await replace(api, old["id"], **{"with": new["id"]})
    assert response.status_code == 404 and response.json()["error"]["field"] == "with"


async def test_another_tenants_credentials_are_unknown(api, other_api, database, tenant):
    f = await fleet(api, database, tenant.id)
    theirs = await factories.credentials(other_api)
    response = await replace(api, f.old["id"], **{"with": theirs["id"]})
    assert response.status_code == 404, response.text
    response = await replace(other_api, f.old["id"], **{"with": theirs["id"]})
    assert response.status_code == 404, response.text


async def _new_on(api, *, registry=None, used_with=None):
    created = await api.post(
        CREDS,
        json={
            "label": f"new-{uuid.uuid4().hex[:6]}",
            "username": "robot",
            "password": factories.unique_password(),
            "registry": registry,
        },
    )
    assert created.status_code == 201, created.text
    new = created.json()
    if used_with:
        app = await factories.application(api)
        await factories.release(
            api,
            app["id"],
            containers=[factories.container("x", used_with, image_credentials_id=new["id"])],
        )
    return new


async def test_new_credentials_bound_to_another_registry_are_409_and_binding_holds(
    api, database, tenant
):
    f = await fleet(api, database, tenant.id)
    docker_hub = await _new_on(api, registry="docker.io")
    before = await _counts(database)
    response = await replace(api, f.old["id"], **{"with": docker_hub["id"]})
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error["code"] == "registry_conflict"
    assert "bound to docker.io" in error["message"] and "ghcr.io" in error["message"]
    assert await _counts(database) == before
    # force does not lift a binding: the release rule refuses the image on ghcr.io (422).
    response = await replace(api, f.old["id"], **{"with": docker_hub["id"], "force": True})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "credentials_registry_mismatch"
    assert await _counts(database) == before


async def test_new_credentials_used_with_another_registry_need_force(api, database, tenant):
    f = await fleet(api, database, tenant.id)
    quay = await _new_on(api, used_with="quay.io/acme/x:1")
    before = await _counts(database)
    response = await replace(api, f.old["id"], **{"with": quay["id"]})
    assert response.status_code == 409, response.text
    assert "used with quay.io" in response.json()["error"]["message"]
    assert await _counts(database) == before
    response = await replace(api, f.old["id"], **{"with": quay["id"], "force": True})
    assert response.status_code == 200, response.text
    (overridden,) = response.json()["overridden"]
    assert "quay.io" in overridden and "ghcr.io" in overridden
    (event,) = (
        await api.get("/api/v1/audit-events", params={"action": "credentials.replaced"})
    ).json()["items"]
    assert event["summary"].endswith("(forced)")


async def test_new_credentials_bound_to_the_same_registry_replace(api, database, tenant):
    f = await fleet(api, database, tenant.id)
    ghcr = await _new_on(api, registry="ghcr.io", used_with="ghcr.io/acme/x:1")
    response = await replace(api, f.old["id"], **{"with": ghcr["id"]})
    assert response.status_code == 200, response.text
    assert response.json()["overridden"] == []


async def test_expired_new_credentials_are_refused(api, database, tenant):
    f = await fleet(api, database, tenant.id)
    expired = await factories.credentials(
        api, password=tokens.ecr(datetime.now(UTC) - timedelta(days=1))
    )
    response = await replace(api, f.old["id"], **{"with": expired["id"]})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("credentials_expired", "with")
    assert expired["id"] in error["message"]

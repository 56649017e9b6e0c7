"""Brokered registries over the REST API and the realm: create, bundle, accounts, tokens."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from edgedock.db import utcnow
from edgedock.registries.models import RegistryPullSecret
from tests import factories
from tests.deployments import fleet
from tests.registries import helpers
from tests.registries.helpers import basic, token_path, verify


async def test_create_registry_answers_what_to_configure(api):
    row = await helpers.registry(api, host="LOCALHOST:5055", service="my-registry")
    assert row["host"] == "localhost:5055"
    assert row["service"] == "my-registry"
    assert row["realm"] == f"http://127.0.0.1:8000/registry/v1/{row['id']}/token"
    assert row["issuer"] == f"edgedock/{row['id']}"
    assert (await api.get(f"/api/v1/registries/{row['id']}")).json()["host"] == "localhost:5055"
    listed = (await api.get("/api/v1/registries")).json()["items"]
    assert [r["id"] for r in listed] == [row["id"]]


async def test_create_registry_twice_is_a_conflict(api):
    await helpers.registry(api)
    again = await api.post("/api/v1/registries", json={"host": "localhost:5055"})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "duplicate_registry"


async def test_create_registry_refuses_bad_host_and_service(api):
    bad_host = await api.post("/api/v1/registries", json={"host": "not a host"})
    assert bad_host.status_code == 422 and bad_host.json()["error"]["field"] == "host"
    bad_service = await api.post("/api/v1/registries", json={"host": "r.example", "service": "a b"})
    assert bad_service.status_code == 422 and bad_service.json()["error"]["field"] == "service"


async def test_bundle_lists_current_and_next_certificates(api):
    row = await helpers.registry(api)
    bundle = await api.get(f"/api/v1/registries/{row['id']}/bundle.pem")
    assert bundle.status_code == 200
    assert bundle.text.count("BEGIN CERTIFICATE") == 2
    certs = (await api.get(f"/api/v1/registries/{row['id']}/certificates")).json()
    assert [c["role"] for c in certs] == ["current", "next"]
    assert all(len(c["kid"].split(":")) == 12 for c in certs)


async def test_other_tenant_cannot_see_registry(api, other_api):
    row = await helpers.registry(api)
    for path in ("", "/bundle.pem", "/accounts"):
        assert (await other_api.get(f"/api/v1/registries/{row['id']}{path}")).status_code == 404
    assert (await other_api.delete(f"/api/v1/registries/{row['id']}")).status_code == 404
    assert (await api.get("/api/v1/registries/not-a-uuid")).status_code == 404


async def test_account_token_grants_only_its_rules(api, anonymous):
    row = await helpers.registry(api)
    created = await api.post(
        f"/api/v1/registries/{row['id']}/accounts",
        json={"name": "ci", "access": [{"repository": "team/*", "actions": ["pull", "push"]}]},
    )
    assert created.status_code == 201, created.text
    secret = created.json()["secret"]
    listed = (await api.get(f"/api/v1/registries/{row['id']}/accounts")).json()
    assert secret not in str(listed)
    response = await anonymous.get(
        token_path(row),
        params=[
            ("service", row["service"]),
            ("scope", "repository:team/app:pull,push"),
            ("scope", "repository:other/app:pull"),
        ],
        headers=basic("ci", secret),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token"] == body["access_token"] and body["expires_in"] == 300
    bundle = (await api.get(f"/api/v1/registries/{row['id']}/bundle.pem")).text
    header, claims = verify(body["token"], bundle)
    assert header["alg"] == "ES256" and header["kid"]
    assert claims["access"] == [
        {"type": "repository", "name": "team/app", "actions": ["pull", "push"]}
    ]
    assert claims["aud"] == row["service"] and claims["iss"] == row["issuer"]
    assert claims["exp"] - claims["iat"] == 300
    events = (await api.get("/api/v1/audit-events")).json()["items"]
    issued = [e for e in events if e["action"] == "registry_token.issued"]
    assert len(issued) == 1 and secret not in str(events)


async def test_account_post_grant_type_password(api, anonymous):
    row = await helpers.registry(api)
    created = await api.post(
        f"/api/v1/registries/{row['id']}/accounts",
        json={"name": "builder", "access": [{"repository": "team/app", "actions": ["pull"]}]},
    )
    secret = created.json()["secret"]
    response = await anonymous.post(
        token_path(row),
        data={
            "grant_type": "password",
            "username": "builder",
            "password": secret,
            "service": row["service"],
            "scope": "repository:team/app:pull,push",
        },
    )
    assert response.status_code == 200, response.text
    _, claims = verify(
        response.json()["token"], (await api.get(f"/api/v1/registries/{row['id']}/bundle.pem")).text
    )
    assert claims["access"] == [{"type": "repository", "name": "team/app", "actions": ["pull"]}]
    refresh = await anonymous.post(token_path(row), data={"grant_type": "refresh_token"})
    assert refresh.status_code == 400


async def test_bad_login_is_401_with_basic_challenge(api, anonymous):
    row = await helpers.registry(api)
    for headers in (
        {},
        basic("ci", "edra_wrong"),
        basic("gw", "edps_wrong"),
        {"Authorization": "Basic !!"},
    ):
        response = await anonymous.get(
            token_path(row), params={"scope": "repository:a:pull"}, headers=headers
        )
        assert response.status_code == 401, headers
        assert response.headers["www-authenticate"].startswith(f'Basic realm="{row["realm"]}"')


async def test_revoked_account_is_refused(api, anonymous):
    row = await helpers.registry(api)
    created = (
        await api.post(
            f"/api/v1/registries/{row['id']}/accounts",
            json={"name": "ci", "access": [{"repository": "*", "actions": ["pull"]}]},
        )
    ).json()
    deleted = await api.delete(f"/api/v1/registries/{row['id']}/accounts/{created['id']}")
    assert deleted.status_code == 204
    response = await anonymous.get(token_path(row), headers=basic("ci", created["secret"]))
    assert response.status_code == 401


async def test_device_gets_pull_only_on_its_deployments(api, app, anonymous):
    row = await helpers.registry(api)
    release, device, deployment = await helpers.brokered_deployment(api)
    state = await _desired(app, device)
    assert state["deployments"][0]["containers"][0]["needs_credentials"] is True
    auth = await helpers.pull_secret(app, device, deployment, release)
    assert auth["username"] == "gw-1" and auth["password"].startswith("edps_")
    assert auth["serveraddress"] == helpers.HOST
    response = await anonymous.get(
        token_path(row),
        params=[
            ("service", row["service"]),
            ("scope", "repository:team/app:pull,push"),
            ("scope", "repository:team/other:pull"),
        ],
        headers=basic(auth["username"], auth["password"]),
    )
    assert response.status_code == 200, response.text
    bundle = (await api.get(f"/api/v1/registries/{row['id']}/bundle.pem")).text
    _, claims = verify(response.json()["token"], bundle)
    assert claims["access"] == [{"type": "repository", "name": "team/app", "actions": ["pull"]}]
    assert claims["sub"] == "device:gw-1"
    events = (await api.get("/api/v1/audit-events", params={"device_id": device["id"]})).json()
    actions = [e["action"] for e in events["items"]]
    assert "registry_token.issued" in actions and "registry_auth.issued" in actions
    assert auth["password"] not in str(events)


async def test_pull_secret_is_reusable_then_refused_when_expired(api, app, anonymous, database):
    row = await helpers.registry(api)
    release, device, deployment = await helpers.brokered_deployment(api)
    auth = await helpers.pull_secret(app, device, deployment, release)
    headers = basic(auth["username"], auth["password"])
    for _ in range(2):
        assert (await anonymous.get(token_path(row), headers=headers)).status_code == 200
    async with database.transaction() as session:
        await session.execute(
            update(RegistryPullSecret).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert (await anonymous.get(token_path(row), headers=headers)).status_code == 401


async def test_pull_secret_dies_with_deployment_and_device(api, app, anonymous):
    row = await helpers.registry(api)
    release, device, deployment = await helpers.brokered_deployment(api)
    auth = await helpers.pull_secret(app, device, deployment, release)
    headers = basic(auth["username"], auth["password"])
    assert (await anonymous.get(token_path(row), headers=headers)).status_code == 200
    assert (await api.delete(f"/api/v1/deployments/{deployment['id']}")).status_code == 204
    assert (await anonymous.get(token_path(row), headers=headers)).status_code == 401

    release2, device2, deployment2 = await helpers.brokered_deployment(api, device_name="gw-2")
    auth2 = await helpers.pull_secret(app, device2, deployment2, release2)
    headers2 = basic(auth2["username"], auth2["password"])
    assert (await anonymous.get(token_path(row), headers=headers2)).status_code == 200
    assert (await api.delete(f"/api/v1/devices/{device2['id']}")).status_code == 204
    assert (await anonymous.get(token_path(row), headers=headers2)).status_code == 401


async def test_pull_secret_of_one_registry_is_refused_by_another(api, app, anonymous):
    await helpers.registry(api)
    other = await helpers.registry(api, host="registry.example.com")
    release, device, deployment = await helpers.brokered_deployment(api)
    auth = await helpers.pull_secret(app, device, deployment, release)
    response = await anonymous.get(
        token_path(other), headers=basic(auth["username"], auth["password"])
    )
    assert response.status_code == 401


async def test_stored_credentials_path_is_unchanged_on_a_brokered_host(api, app):
    await helpers.registry(api)
    password = factories.unique_password()
    creds, _app, release = await fleet.private_release(api, password=password)
    device = await fleet.device(api, "gw-9")
    deployment = await fleet.deploy(api, release["id"], device["id"])
    container = next(c for c in release["containers"] if c["name"] == "app")
    async with fleet.device_client(app, device["token"]) as agent:
        response = await agent.post(
            "/device/v1/registry-auth",
            json={"deployment_id": deployment["id"], "container_id": container["id"]},
        )
    from edgedock import registry_auth

    assert registry_auth.decode(response.json()["x_registry_auth"])["password"] == password


async def test_registry_created_after_deploy_changes_desired_state(api, app):
    release, device, deployment = await helpers.brokered_deployment(api)
    before = await _desired(app, device)
    assert before["deployments"][0]["containers"][0]["needs_credentials"] is False
    row = await helpers.registry(api)
    after = await _desired(app, device)
    assert after["deployments"][0]["containers"][0]["needs_credentials"] is True
    assert (await api.delete(f"/api/v1/registries/{row['id']}")).status_code == 204
    again = await _desired(app, device)
    assert again["deployments"][0]["containers"][0]["needs_credentials"] is False


async def test_unknown_service_and_bad_scope_are_400(api, anonymous):
    row = await helpers.registry(api)
    created = (
        await api.post(
            f"/api/v1/registries/{row['id']}/accounts",
            json={"name": "ci", "access": [{"repository": "*", "actions": ["pull"]}]},
        )
    ).json()
    headers = basic("ci", created["secret"])
    wrong = await anonymous.get(token_path(row), params={"service": "other"}, headers=headers)
    assert wrong.status_code == 400 and wrong.json()["error"]["field"] == "service"
    bad = await anonymous.get(token_path(row), params={"scope": "nonsense"}, headers=headers)
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "scope"
    unknown = await anonymous.get("/registry/v1/5b7c6a57-0000-4000-8000-000000000000/token")
    assert unknown.status_code == 404


async def _desired(app, device):
    async with fleet.device_client(app, device["token"]) as agent:
        response = await agent.get("/device/v1/desired-state")
    assert response.status_code == 200
    return response.json()


async def test_release_and_deployment_reads_show_brokered_containers(api):
    await helpers.registry(api)
    release, device, deployment = await helpers.brokered_deployment(api)
    read = (await api.get(f"/api/v1/releases/{release['id']}")).json()
    (container,) = read["containers"]
    assert container["brokered"] is True and container["image_credentials"] is None
    state = (await api.get(f"/api/v1/deployments/{deployment['id']}")).json()
    (container,) = state["containers"]
    assert container["brokered"] is True and container["needs_credentials"] is True


async def test_public_image_elsewhere_is_not_brokered(api):
    await helpers.registry(api)
    release, _device, deployment = await helpers.brokered_deployment(
        api, image="docker.io/library/busybox:1.36"
    )
    read = (await api.get(f"/api/v1/releases/{release['id']}")).json()
    assert read["containers"][0]["brokered"] is False
    state = (await api.get(f"/api/v1/deployments/{deployment['id']}")).json()
    assert state["containers"][0]["needs_credentials"] is False

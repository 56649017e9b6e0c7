"""Applications, releases, devices, deployments and audit pages, and tenant isolation."""

from __future__ import annotations

import html
import re

import pytest

from tests import factories
from tests.deployments import fleet
from tests.web.conftest import post_form


async def _release_form(web, application_id: str, **fields: str):
    page = f"/applications/{application_id}/releases/new"
    data = {"rows": "3", "version": "1.0.0", **fields}
    return await post_form(web, page, f"/applications/{application_id}/releases", data)


async def test_create_application_then_its_page(web, api):
    response = await post_form(
        web, "/applications/new", "/applications", {"name": "shop", "description": "The shop"}
    )
    assert response.status_code == 303
    page = (await web.get(response.headers["location"])).text
    assert "shop" in page and "The shop" in page and "New release" in page
    assert "shop" in (await web.get("/applications")).text


async def test_application_form_errors_show_next_to_the_field(web, api):
    await factories.application(api, name="shop")
    duplicate = await post_form(web, "/applications/new", "/applications", {"name": "Shop"})
    assert duplicate.status_code == 409 and 'id="name-error"' in duplicate.text
    empty = await post_form(web, "/applications/new", "/applications", {"name": " "})
    assert empty.status_code == 422 and "name must not be empty" in empty.text


async def test_release_form_offers_credentials_as_label_and_username(web, api):
    creds = await factories.credentials(api, label="GHCR", username="robot")
    application = await factories.application(api)
    page = (await web.get(f"/applications/{application['id']}/releases/new")).text
    assert f'<option value="{creds["id"]}">GHCR (robot)</option>' in page
    assert page.count('name="containers-') >= 3 * 6, "three rows of six inputs"
    more = (await web.get(f"/applications/{application['id']}/releases/new?rows=5")).text
    assert 'name="containers-4-image"' in more


async def test_release_form_creates_a_release_from_filled_rows_only(web, api):
    creds = await factories.credentials(api, label="GHCR", username="robot")
    application = await factories.application(api)
    response = await _release_form(
        web,
        application["id"],
        **{
            "containers-0-name": "web",
            "containers-0-image": "ghcr.io/acme/web:1.0",
            "containers-0-credentials_id": creds["id"],
            "containers-0-ports": "8080:80, 8443:443/tcp",
            "containers-0-env": "MODE=prod\nGREETING=a=b",
            "containers-0-restart_policy": "always",
            "containers-2-name": "cache",
            "containers-2-image": "redis:7",
        },
    )
    assert response.status_code == 303, response.text
    release_id = response.headers["location"].rsplit("/", 1)[1]
    release = (await api.get(f"/api/v1/releases/{release_id}")).json()
    web_c, cache = release["containers"]
    assert web_c["image_credentials_id"] == creds["id"]
    assert web_c["port_bindings"] == ["8080:80", "8443:443"]  # stored normalised: tcp implicit
    assert web_c["env"] == {"MODE": "prod", "GREETING": "a=b"}
    assert web_c["restart_policy"] == "always"
    assert cache["name"] == "cache" and cache["image_credentials_id"] is None
    page = (await web.get(response.headers["location"])).text
    assert "GHCR (robot)" in page and "docker.io/library/redis:7" in page


async def test_release_form_shows_an_invalid_image_next_to_its_field(web, api):
    application = await factories.application(api)
    response = await _release_form(
        web,
        application["id"],
        **{
            "containers-0-name": "web",
            "containers-0-image": "nginx:1.27",
            "containers-1-name": "api",
            "containers-1-image": "Invalid Image!!",
        },
    )
    assert response.status_code == 422
    error = re.search(r'id="containers-1-image-error"[^>]*>([^<]+)<', response.text)
    assert error and "invalid image reference" in error.group(1)
    assert 'aria-describedby="containers-1-image-error"' in response.text
    assert 'value="Invalid Image!!"' in response.text, "the typed value comes back to fix"
    assert 'value="nginx:1.27"' in response.text
    releases = await api.get(f"/api/v1/applications/{application['id']}/releases")
    assert releases.json()["items"] == []


async def test_release_form_maps_errors_to_the_rows_that_were_filled(web, api):
    """Errors count only filled rows (row 2 is the API's containers[0]); they go to row 2."""
    application = await factories.application(api)
    response = await _release_form(
        web,
        application["id"],
        version="v1",
        **{
            "containers-2-name": "Web",
            "containers-2-image": "nginx",
            "containers-2-ports": "99999:80",
            "containers-2-env": "no equals sign",
        },
    )
    assert response.status_code == 422
    for field in ("name", "ports", "env"):
        assert f'id="containers-2-{field}-error"' in response.text, field
    assert 'id="version-error"' in response.text
    assert 'id="containers-0-name-error"' not in response.text


async def test_release_form_refuses_port_binding_the_engine_would_refuse(web, api):
    application = await factories.application(api)
    response = await _release_form(
        web,
        application["id"],
        **{
            "containers-0-name": "web",
            "containers-0-image": "nginx",
            "containers-0-ports": "8080:80, [fe80::1%eth0]:81:81",
            "containers-0-env": "NUL=a\x00b",
        },
    )
    assert response.status_code == 422
    ports = re.search(r'id="containers-0-ports-error"[^>]*>([^<]+)<', response.text)
    assert ports and "without a %zone" in ports.group(1)
    env = re.search(r'id="containers-0-env-error"[^>]*>([^<]+)<', response.text)
    assert env and "NUL" in env.group(1)
    releases = await api.get(f"/api/v1/applications/{application['id']}/releases")
    assert releases.json()["items"] == []


async def test_release_form_with_no_container_says_so(web, api):
    application = await factories.application(api)
    response = await _release_form(web, application["id"])
    assert response.status_code == 422
    assert "fill in at least one container" in response.text


async def test_duplicate_version_shows_on_the_version_field(web, api):
    application = await factories.application(api)
    await factories.release(api, application["id"], version="1.0.0")
    response = await _release_form(
        web,
        application["id"],
        **{"containers-0-name": "web", "containers-0-image": "nginx"},
    )
    assert response.status_code == 409
    assert 'id="version-error"' in response.text and "already has a release" in response.text


async def test_release_page_shows_the_multi_registry_warning(web, api):
    creds = await factories.credentials(api, label="Shared", username="robot")
    application = await factories.application(api)
    release = await factories.release(
        api,
        application["id"],
        containers=[
            factories.container("a", "ghcr.io/acme/a:1", image_credentials_id=creds["id"]),
            factories.container("b", "quay.io/acme/b:1", image_credentials_id=creds["id"]),
        ],
    )
    page = (await web.get(f"/releases/{release['id']}")).text
    assert "Warning:" in page
    assert "used with images from 2 registries (ghcr.io, quay.io)" in page


async def test_register_device_shows_its_token_once_with_the_agent_command(web, api):
    response = await post_form(web, "/devices/new", "/devices", {"name": "gw-berlin"})
    assert response.status_code == 201
    token = re.search(r'id="device-token" value="([^"]+)"', response.text).group(1)
    assert token.startswith("edd_")
    install = html.unescape(
        re.search(r'id="agent-install"><code>(.*?)</code>', response.text, re.S).group(1)
    )
    assert "pip install 'edgedock[agent] @ http://testserver/agent/edgedock-" in install
    assert install.splitlines()[-1] == (
        f"printf '%s\\n' {token} | sudo install -m 600 /dev/stdin /etc/edgedock/device-token"
        " && sudo systemctl enable --now edgedock-agent"
    )
    assert "edgedock agent install-service --server http://testserver" in install
    (device,) = (await api.get("/api/v1/devices")).json()["items"]
    detail = (await web.get(f"/devices/{device['id']}")).text
    listing = (await web.get("/devices")).text
    assert token not in detail and token not in listing
    assert "never seen" in listing


async def test_delete_device_needs_its_name_typed(web, api):
    device = await fleet.device(api, "gw-old")
    page = f"/devices/{device['id']}"
    wrong = await post_form(web, page, f"{page}/delete", {"confirm_name": "gw"})
    assert wrong.status_code == 422 and 'id="confirm_name-error"' in wrong.text
    assert (await api.get(f"/api/v1/devices/{device['id']}")).status_code == 200
    right = await post_form(web, page, f"{page}/delete", {"confirm_name": "gw-old"})
    assert right.status_code == 303 and right.headers["location"] == "/devices"
    assert (await api.get(f"/api/v1/devices/{device['id']}")).status_code == 404


async def test_duplicate_device_name_shows_on_the_name_field(web, api):
    await fleet.device(api, "gw-1")
    response = await post_form(web, "/devices/new", "/devices", {"name": "GW-1"})
    assert response.status_code == 409
    assert 'id="name-error"' in response.text


async def test_deploy_from_the_release_page_then_status_timeline_and_controls(web, api, app):
    creds, application, release = await fleet.private_release(api)
    device = await fleet.device(api, "gw-1")
    page = f"/releases/{release['id']}"
    response = await post_form(web, page, f"{page}/deploy", {"device_id": device["id"]})
    assert response.status_code == 303
    deployment_page = response.headers["location"]
    deployment_id = deployment_page.rsplit("/", 1)[1]
    app_container = release["containers"][0]["id"]
    message = 'unauthorized: authentication required (registry said "no")'
    report = {
        "engine": {"name": "Podman Engine", "version": "5.4.2", "os": "linux", "arch": "amd64"},
        "containers": [
            {
                "deployment_id": deployment_id,
                "container_id": app_container,
                "status": "error",
                "message": message,
            }
        ],
        "events": [
            {
                "deployment_id": deployment_id,
                "container_id": app_container,
                "kind": "pull_failed",
                "message": message,
                "at": "2026-11-27T00:00:00Z",
            }
        ],
    }
    async with fleet.device_client(app, device["token"]) as agent:
        assert (await agent.post("/device/v1/status", json=report)).status_code == 204
    shown = (await web.get(deployment_page)).text
    escaped = message.replace('"', "&#34;")
    assert shown.count(escaped) >= 2, "the registry's message, in the table and the timeline"
    assert "status-error" in shown and ">pull failed<" in shown
    devices = (await web.get("/devices")).text
    assert "online" in devices and "Podman Engine 5.4.2 (linux/amd64)" in devices

    stopped = await post_form(web, deployment_page, f"{deployment_page}/stop", {})
    assert stopped.status_code == 303
    assert (await api.get(f"/api/v1/deployments/{deployment_id}")).json()["desired"] == "stopped"
    assert ">stop requested<" in (await web.get(deployment_page)).text
    started = await post_form(web, deployment_page, f"{deployment_page}/start", {})
    assert started.status_code == 303
    assert (await api.get(f"/api/v1/deployments/{deployment_id}")).json()["desired"] == "started"

    newer = await factories.release(api, application["id"], version="1.1.0")
    upgraded = await post_form(
        web, deployment_page, f"{deployment_page}/upgrade", {"release_id": newer["id"]}
    )
    assert upgraded.status_code == 303
    assert (await api.get(f"/api/v1/deployments/{deployment_id}")).json()["version"] == "1.1.0"

    deleted = await post_form(
        web, deployment_page, f"{deployment_page}/delete", {"confirm_device": "gw-1"}
    )
    assert deleted.status_code == 303
    assert (await api.get(f"/api/v1/deployments/{deployment_id}")).status_code == 404


async def test_deploying_twice_to_one_device_shows_the_conflict_on_the_device_field(web, api):
    _, _, release = await fleet.private_release(api)
    device = await fleet.device(api, "gw-1")
    await fleet.deploy(api, release["id"], device["id"])
    page = f"/releases/{release['id']}"
    response = await post_form(web, page, f"{page}/deploy", {"device_id": device["id"]})
    assert response.status_code == 409
    assert 'id="device_id-error"' in response.text and "already deployed" in response.text


async def test_audit_log_filters_by_action_credentials_and_time(web, api):
    creds = await factories.credentials(api, label="Audited")
    await factories.credentials(api, label="Other")
    await factories.application(api, name="shop")
    everything = (await web.get("/audit")).text
    assert "credentials.created" in everything and "applications.created" in everything
    by_action = (await web.get("/audit?action=applications.created")).text
    assert "created application" in by_action and "created image credentials" not in by_action
    by_creds = (await web.get(f"/audit?credentials_id={creds['id']}&device_id=")).text
    assert "Audited" in by_creds and "&#39;Other&#39;" not in by_creds
    future = (await web.get("/audit?since=2999-01-01T00:00")).text
    assert "No events match these filters" in future
    bad = await web.get("/audit?credentials_id=not-an-id")
    assert bad.status_code == 422 and "<html" in bad.text


async def test_unknown_page_is_a_404_error_page_and_api_errors_stay_json(web):
    page = await web.get("/no-such-page")
    assert page.status_code == 404 and "Not found" in page.text and "<html" in page.text
    api_error = await web.get("/api/v1/image-credentials/nope")
    assert api_error.status_code in (401, 404)
    assert api_error.headers["content-type"].startswith("application/json")


@pytest.fixture
async def acme_resources(api, app):
    creds, application, release = await fleet.private_release(api)
    device = await fleet.device(api, "gw-1")
    deployment = await fleet.deploy(api, release["id"], device["id"])
    return {
        "credentials": creds["id"],
        "application": application["id"],
        "release": release["id"],
        "device": device["id"],
        "deployment": deployment["id"],
    }


async def test_pages_of_another_tenant_are_404(other_web, acme_resources):
    ids = acme_resources
    for path in [
        f"/image-credentials/{ids['credentials']}",
        f"/image-credentials/{ids['credentials']}/delete",
        f"/applications/{ids['application']}",
        f"/applications/{ids['application']}/releases/new",
        f"/releases/{ids['release']}",
        f"/devices/{ids['device']}",
        f"/deployments/{ids['deployment']}",
    ]:
        response = await other_web.get(path)
        assert response.status_code == 404, path
        assert "Not found" in response.text, path


async def test_forms_against_another_tenants_resources_are_404_and_change_nothing(
    other_web, api, acme_resources
):
    ids = acme_resources
    own = "/image-credentials"  # any page of globex's own, for a valid CSRF token
    for action, data in [
        (f"/image-credentials/{ids['credentials']}/delete", {"confirm_label": "x"}),
        (f"/deployments/{ids['deployment']}/stop", {}),
        (f"/deployments/{ids['deployment']}/delete", {"confirm_device": "gw-1"}),
        (f"/releases/{ids['release']}/deploy", {"device_id": ids["device"]}),
        (f"/devices/{ids['device']}/delete", {"confirm_name": "gw-1"}),
        (f"/applications/{ids['application']}/releases", {"version": "9.0.0"}),
    ]:
        response = await post_form(other_web, own, action, data)
        assert response.status_code == 404, action
    assert (await api.get(f"/api/v1/image-credentials/{ids['credentials']}")).status_code == 200
    deployment = (await api.get(f"/api/v1/deployments/{ids['deployment']}")).json()
    assert deployment["desired"] == "started"
    assert (await api.get(f"/api/v1/devices/{ids['device']}")).status_code == 200


async def test_a_list_shows_only_the_own_tenants_rows(web, other_web, api):
    await factories.credentials(api, label="acme-only")
    assert "acme-only" in (await web.get("/image-credentials")).text
    assert "acme-only" not in (await other_web.get("/image-credentials")).text
    assert "acme-only" not in (await other_web.get("/audit")).text

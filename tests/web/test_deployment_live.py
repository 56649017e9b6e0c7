"""The deployment page: its live fragment, what it says runs, causes and fixes, the typed delete."""

from __future__ import annotations

from typing import Any

import httpx

from tests.deployments import fleet
from tests.web.conftest import post_form

REFUSED = (
    "initializing source docker://localhost:5055/team/app:1.1: reading manifest 1.1 in "
    "localhost:5055/team/app: unauthorized: authentication required"
)


async def _upgrade_that_fails(api: httpx.AsyncClient, app: Any) -> dict[str, Any]:
    """1.0.0 deployed and running, then upgraded to 1.1.0, whose pull the registry refuses."""
    _, application, old = await fleet.private_release(api, version="1.0.0")
    creds, _, new = await fleet.private_release(
        api, version="1.1.0", app=application, image="localhost:5055/team/app:1.1"
    )
    device = await fleet.device(api, "gw-live")
    deployment = await fleet.deploy(api, old["id"], device["id"])
    old_app = old["containers"][0]
    running = [
        {
            "deployment_id": deployment["id"],
            "container_id": old_app["id"],
            "name": f"edgedock-app-{deployment['id'][:8]}",
            "image": "localhost:5055/team/app:1.0",
            "state": "running",
        }
    ]
    async with fleet.device_client(app, device["token"]) as agent:
        answer = await agent.post("/device/v1/status", json={"running": running})
        assert answer.status_code == 204, answer.text
    upgraded = await api.post(
        f"/api/v1/deployments/{deployment['id']}/upgrade", json={"release_id": new["id"]}
    )
    assert upgraded.status_code == 200, upgraded.text
    new_app = new["containers"][0]
    report = {
        "containers": [
            {
                "deployment_id": deployment["id"],
                "container_id": new_app["id"],
                "status": "error",
                "message": REFUSED,
            }
        ],
        "running": running,
    }
    async with fleet.device_client(app, device["token"]) as agent:
        answer = await agent.post("/device/v1/status", json=report)
        assert answer.status_code == 204, answer.text
    # The credentials 1.1.0 uses: the ones its refused pull was made with.
    return {"deployment": deployment, "credentials": creds, "device": device}


async def test_a_failed_upgrade_says_the_old_release_still_runs(web, api, app):
    made = await _upgrade_that_fails(api, app)
    page = (await web.get(f"/deployments/{made['deployment']['id']}")).text
    assert "1.0.0 still running; upgrade to 1.1.0 failed: app: initializing source" in page
    assert "previous release" in page
    assert "The registry refused the username or password." in page
    assert "Create new credentials with the right password" in page
    link = f'<a href="/image-credentials/{made["credentials"]["id"]}">{made["credentials"]["label"]}</a>'
    assert link in page, "the error links to the credentials used, by label"


async def test_the_live_fragment_answers_304_until_something_changes(web, api, app):
    made = await _upgrade_that_fails(api, app)
    live = f"/deployments/{made['deployment']['id']}/live"
    first = await web.get(live)
    assert first.status_code == 200
    assert "<html" not in first.text and "still running" in first.text
    assert first.headers["content-security-policy"].startswith("default-src 'self'")
    etag = first.headers["etag"]
    same = await web.get(live, headers={"If-None-Match": etag})
    assert same.status_code == 304
    stopped = await api.post(f"/api/v1/deployments/{made['deployment']['id']}/stop")
    assert stopped.status_code == 200
    changed = await web.get(live, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert "stop requested" in changed.text


async def test_the_live_fragment_of_another_tenant_is_404(other_web, api, app):
    made = await _upgrade_that_fails(api, app)
    response = await other_web.get(f"/deployments/{made['deployment']['id']}/live")
    assert response.status_code == 404


async def test_deleting_a_deployment_needs_the_device_name_typed(web, api, app):
    _, _, release = await fleet.private_release(api)
    device = await fleet.device(api, "gw-typed")
    deployment = await fleet.deploy(api, release["id"], device["id"])
    page = f"/deployments/{deployment['id']}"
    for typed in ("", "gw-type", "GW-TYPED"):
        refused = await post_form(web, page, f"{page}/delete", {"confirm_device": typed})
        assert refused.status_code == 422
        assert 'id="confirm_device-error"' in refused.text
        assert "Type the device name “gw-typed” exactly" in refused.text
    assert (await api.get(f"/api/v1/deployments/{deployment['id']}")).status_code == 200
    deleted = await post_form(web, page, f"{page}/delete", {"confirm_device": " gw-typed "})
    assert deleted.status_code == 303
    assert (await api.get(f"/api/v1/deployments/{deployment['id']}")).status_code == 404


async def test_timeline_kinds_read_as_words_with_seconds(web, api, app):
    _, _, release = await fleet.private_release(api)
    device = await fleet.device(api)
    deployment = await fleet.deploy(api, release["id"], device["id"])
    await api.post(f"/api/v1/deployments/{deployment['id']}/stop")
    page = (await web.get(f"/deployments/{deployment['id']}")).text
    assert '<span class="action">stop requested</span>' in page
    assert '<span class="action">deployed</span>' in page
    assert "stop_requested</span>" not in page
    read = (await api.get(f"/api/v1/deployments/{deployment['id']}/events")).json()
    stamp = read["items"][0]["at"][:19].replace("T", " ")  # YYYY-MM-DD HH:MM:SS
    assert f"{stamp} UTC" in page


async def test_the_favicon_is_served(anonymous):
    icon = await anonymous.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert (await anonymous.get("/static/favicon.svg")).status_code == 200


async def test_the_api_says_what_runs_and_the_one_line(api, app):
    made = await _upgrade_that_fails(api, app)
    read = (await api.get(f"/api/v1/deployments/{made['deployment']['id']}")).json()
    assert read["version"] == "1.1.0" and read["status"] == "error"
    assert read["summary"].startswith("1.0.0 still running; upgrade to 1.1.0 failed: app: ")
    (running,) = read["running"]
    assert (running["version"], running["state"], running["current"]) == ("1.0.0", "running", False)

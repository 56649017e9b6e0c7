"""Fleet actions in the pages: deploy to many devices, deploy from a device, upgrade many,
re-issue a device token."""

from __future__ import annotations

import re

from tests import factories
from tests.deployments import fleet
from tests.web.conftest import post_form


async def test_reissue_from_the_device_page_needs_the_box_ticked_and_shows_the_token_once(
    web, api, app
):
    device = await fleet.device(api, "gw-page")
    page = f"/devices/{device['id']}"
    shown = (await web.get(page)).text
    assert 'action="/devices/' in shown and "Re-issue token" in shown
    unticked = await post_form(web, page, f"{page}/token", {})
    assert unticked.status_code == 422 and 'id="confirm_reissue-error"' in unticked.text
    async with fleet.device_client(app, device["token"]) as old:
        assert (await old.get("/device/v1/ping")).status_code == 204
        ticked = await post_form(web, page, f"{page}/token", {"confirm_reissue": "yes"})
        assert ticked.status_code == 200
        token = re.search(r'id="device-token" value="([^"]+)"', ticked.text).group(1)
        assert token.startswith("edd_") and token != device["token"]
        assert (await old.get("/device/v1/ping")).status_code == 401
    async with fleet.device_client(app, token) as new:
        assert (await new.get("/device/v1/ping")).status_code == 204
    assert token not in (await web.get(page)).text
    assert "devices.token_reissued" in (await web.get(page)).text


async def test_deploy_from_the_device_page_picks_application_and_release(web, api):
    _, application, v1 = await fleet.private_release(api)
    v2 = await factories.release(api, application["id"], version="1.1.0")
    device = await fleet.device(api, "gw-from-device")
    page = f"/devices/{device['id']}"
    shown = (await web.get(page)).text
    assert f'<optgroup label="{application["name"]}">' in shown
    assert f"{application['name']} 1.1.0" in shown
    response = await post_form(web, page, f"{page}/deploy", {"release_id": v1["id"]})
    assert response.status_code == 303
    deployment_id = response.headers["location"].rsplit("/", 1)[1]
    deployment = (await api.get(f"/api/v1/deployments/{deployment_id}")).json()
    assert deployment["device_id"] == device["id"] and deployment["version"] == "1.0.0"
    assert "(runs 1.0.0 here)" in (await web.get(page)).text
    # A second release of the deployed application: refused, with the way to upgrade instead.
    refused = await post_form(web, page, f"{page}/deploy", {"release_id": v2["id"]})
    assert refused.status_code == 409
    assert 'id="release_id-error"' in refused.text and "already deployed" in refused.text
    assert f'href="/deployments/{deployment_id}" id="upgrade-instead"' in refused.text
    empty = await post_form(web, page, f"{page}/deploy", {"release_id": ""})
    assert empty.status_code == 422 and "pick the release" in empty.text
    bad = await post_form(web, page, f"{page}/deploy", {"release_id": "nope"})
    assert bad.status_code == 422 and 'id="release_id-error"' in bad.text

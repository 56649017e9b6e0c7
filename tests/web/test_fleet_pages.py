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
        assert f"{token} | sudo install -m 600 /dev/stdin /etc/edgedock/" in ticked.text
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


async def _release_pair(api, name: str):  # type: ignore[no-untyped-def]
    application = await factories.application(api, name=name)
    v1 = await factories.release(api, application["id"], version="1.0.0")
    v2 = await factories.release(api, application["id"], version="1.1.0")
    return application, v1, v2


async def test_release_page_filters_devices_by_name_and_shows_what_they_run(web, api):
    _, v1, v2 = await _release_pair(api, "filtered")
    berlin = await fleet.device(api, "gw-berlin-1")
    await fleet.device(api, "gw-paris-1")
    await fleet.deploy(api, v1["id"], berlin["id"])
    page = (await web.get(f"/releases/{v2['id']}", params={"q": "BERLIN"})).text
    assert "gw-berlin-1" in page and "gw-paris-1" not in page
    assert "(runs 1.0.0)" in page
    everything = (await web.get(f"/releases/{v2['id']}")).text
    assert "gw-berlin-1" in everything and "gw-paris-1" in everything
    nothing = (await web.get(f"/releases/{v2['id']}", params={"q": "lisbon"})).text
    assert "No device matches" in nothing


async def test_deploy_to_several_devices_lists_created_already_deployed_and_refused(web, api):
    _, v1, v2 = await _release_pair(api, "multi")
    fresh = [await fleet.device(api, f"gw-multi-{i}") for i in range(3)]
    same = await fleet.device(api, "gw-multi-same")
    older = await fleet.device(api, "gw-multi-older")
    await fleet.deploy(api, v2["id"], same["id"])
    older_deployment = await fleet.deploy(api, v1["id"], older["id"])
    page = f"/releases/{v2['id']}"
    picked = [d["id"] for d in fresh] + [same["id"], older["id"]]
    response = await post_form(web, page, f"{page}/deploy", {"device_id": picked})
    assert response.status_code == 200, response.text
    assert "3 created, 1 already deployed, 1 refused." in response.text
    rows = re.findall(r"<tr>(.*?)</tr>", response.text, re.S)
    by_device = {name: row for row in rows for name in re.findall(r">(gw-multi-[a-z0-9]+)<", row)}
    for d in fresh:
        assert "created" in by_device[d["name"]]
    assert "already deployed" in by_device["gw-multi-same"]
    assert "runs 1.0.0: upgrade that deployment instead" in by_device["gw-multi-older"]
    assert f'href="/releases/{v2["id"]}#upgrade"' in by_device["gw-multi-older"]
    listed = (await api.get("/api/v1/deployments", params={"release_id": v2["id"]})).json()
    assert sorted(d["device"] for d in listed["items"]) == sorted(
        [d["name"] for d in fresh] + ["gw-multi-same"]
    )
    untouched = (await api.get(f"/api/v1/deployments/{older_deployment['id']}")).json()
    assert untouched["version"] == "1.0.0"


async def test_deploy_with_no_device_picked_says_so(web, api):
    _, v1, _ = await _release_pair(api, "none-picked")
    await fleet.device(api, "gw-unpicked")
    page = f"/releases/{v1['id']}"
    response = await post_form(web, page, f"{page}/deploy", {})
    assert response.status_code == 422 and 'id="device_id-error"' in response.text
    assert "pick at least one device" in response.text


async def test_second_release_refused_on_one_device_links_to_the_upgrade(web, api):
    _, v1, v2 = await _release_pair(api, "hint")
    device = await fleet.device(api, "gw-hint")
    await fleet.deploy(api, v1["id"], device["id"])
    page = f"/releases/{v2['id']}"
    refused = await post_form(web, page, f"{page}/deploy", {"device_id": device["id"]})
    assert refused.status_code == 409
    assert "upgrade those deployments instead" in refused.text
    assert 'href="#upgrade" id="upgrade-instead"' in refused.text
    assert 'id="upgrade"' in refused.text


async def test_upgrade_from_the_release_page_moves_the_n_deployments(web, api):
    _, v1, v2 = await _release_pair(api, "page-upgrade")
    devices = [await fleet.device(api, f"gw-pu-{i}") for i in range(3)]
    for d in devices:
        await fleet.deploy(api, v1["id"], d["id"])
    page = f"/releases/{v2['id']}"
    shown = (await web.get(page)).text
    assert "Upgrade the 3 deployments of 1.0.0 to 1.1.0" in shown
    assert (
        "Upgrade the" not in (await web.get(f"/releases/{v1['id']}")).text.split("<h2>Upgrade")[0]
    )
    response = await post_form(web, page, f"{page}/upgrade", {"from_release": v1["id"]})
    assert response.status_code == 303
    assert response.headers["location"] == f"/releases/{v2['id']}#upgrade"
    after = (await web.get(page)).text
    assert "Upgrade requested for 3 deployment(s)" in after
    assert "Upgrade the 3 deployments" not in after
    listed = (await api.get("/api/v1/deployments", params={"release_id": v2["id"]})).json()
    assert len(listed["items"]) == 3
    # Now 1.0.0's page offers the way back.
    assert (
        "Upgrade the 3 deployments of 1.1.0 to 1.0.0"
        in (await web.get(f"/releases/{v1['id']}")).text
    )
    missing = await post_form(web, page, f"{page}/upgrade", {"from_release": ""})
    assert missing.status_code == 422

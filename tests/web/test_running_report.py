"""What the engine runs, as the agent reports it: stored per deployment, replaced, bounded."""

from __future__ import annotations

from typing import Any

from tests.deployments import fleet

STATUS = "/device/v1/status"


def _running(deployment: dict[str, Any], container_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "deployment_id": deployment["id"],
        "container_id": container_id,
        "name": f"edgedock-app-{deployment['id'][:8]}",
        "image": "localhost:5055/team/app:1.0",
        "state": "running",
        **fields,
    }


async def _page(web: Any, deployment: dict[str, Any]) -> str:
    return str((await web.get(f"/deployments/{deployment['id']}/live")).text)


async def test_running_containers_are_shown_with_their_release(api, app, web):
    _, application, release = await fleet.private_release(api)
    device = await fleet.device(api)
    deployment = await fleet.deploy(api, release["id"], device["id"])
    container = release["containers"][0]["id"]
    async with fleet.device_client(app, device["token"]) as agent:
        sent = await agent.post(STATUS, json={"running": [_running(deployment, container)]})
        assert sent.status_code == 204, sent.text
    shown = await _page(web, deployment)
    assert "edgedock-app-" in shown and ">1.0.0" in shown  # the version from the container id
    assert "previous release" not in shown


async def test_a_new_list_replaces_the_old_and_an_empty_one_clears_it(api, app, web):
    _, _, release = await fleet.private_release(api)
    device = await fleet.device(api)
    deployment = await fleet.deploy(api, release["id"], device["id"])
    container = release["containers"][0]["id"]
    async with fleet.device_client(app, device["token"]) as agent:
        await agent.post(STATUS, json={"running": [_running(deployment, container)]})
        await agent.post(
            STATUS, json={"running": [_running(deployment, container, state="exited")]}
        )
        assert "exited" in await _page(web, deployment)
        await agent.post(STATUS, json={"engine": None})  # no list: what is known stays
        assert "exited" in await _page(web, deployment)
        await agent.post(STATUS, json={"running": []})
    assert "reported no container" in await _page(web, deployment)


async def test_running_reports_for_other_devices_deployments_are_ignored(api, app, web):
    _, _, release = await fleet.private_release(api)
    mine, other = await fleet.device(api), await fleet.device(api)
    deployment = await fleet.deploy(api, release["id"], mine["id"])
    container = release["containers"][0]["id"]
    async with fleet.device_client(app, other["token"]) as agent:
        sent = await agent.post(STATUS, json={"running": [_running(deployment, container)]})
        assert sent.status_code == 204
    assert "reported no container" in await _page(web, deployment)


async def test_oversized_running_fields_are_refused(api, app):
    _, _, release = await fleet.private_release(api)
    device = await fleet.device(api)
    deployment = await fleet.deploy(api, release["id"], device["id"])
    container = release["containers"][0]["id"]
    async with fleet.device_client(app, device["token"]) as agent:
        for field, value in [
            ("name", "n" * 256),
            ("image", "i" * 1001),
            ("state", "s" * 21),
            ("version", "v" * 101),
            ("name", "nul\x00"),
        ]:
            item = _running(deployment, container, **{field: value})
            refused = await agent.post(STATUS, json={"running": [item]})
            assert refused.status_code == 422, (field, refused.text)

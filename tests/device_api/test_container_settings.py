"""A device receives exactly the settings the release stored: one spec from API to agent."""

from __future__ import annotations

from edgedock import container_spec, wire
from tests import factories
from tests.deployments import fleet

GIVEN = {
    "env": {"MODE": "prod", "CERT": "line1\nline2"},
    "command": ["nginx", "-g", "daemon off;"],
    "port_bindings": ["08080:80/tcp", "[0:0::1]:8443:443", "53/udp"],
    "restart_policy": "unless-stopped",
    "binds": ["/srv/app/../data/:/data/:Z,rw", "cache:/var/cache:nocopy"],
    "network_mode": "backend",
    "privileged": True,
}
NORMAL = {
    **GIVEN,
    "port_bindings": ["8080:80", "[::1]:8443:443", "53/udp"],
    "binds": ["/srv/data:/data:Z", "cache:/var/cache:nocopy"],
}


async def test_desired_state_sends_the_stored_normalised_settings(api, app):
    application = await factories.application(api)
    release = await factories.release(
        api, application["id"], containers=[factories.container("web", "nginx:1.27", **GIVEN)]
    )
    device = await fleet.device(api, "gw-settings")
    await fleet.deploy(api, release["id"], device["id"])
    async with fleet.device_client(app, device["token"]) as agent:
        body = (await agent.get("/device/v1/desired-state")).json()

    (sent,) = body["deployments"][0]["containers"]
    (stored,) = release["containers"]
    settings = set(container_spec.ContainerSettings.model_fields)
    assert {k: sent[k] for k in settings} == {k: stored[k] for k in settings} == NORMAL
    spec = wire.ContainerSpec.model_validate(sent)  # what the agent parses
    assert spec.image == "docker.io/library/nginx:1.27" and spec.id == stored["id"]

"""Fleet actions in a real browser (Debian's Chromium) against `edgedock serve`: a release
deployed to three devices at once, every deployment upgraded from the release page, a device
token re-issued (the old token then gets 401 at the device API), a deploy from a device page."""

from __future__ import annotations

import re
import secrets

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests import factories
from tests.support.live_server import LiveServer
from tests.web.test_browser import LAPTOP, SCREENSHOTS, chromium  # noqa: F401 - the fixture

pytestmark = pytest.mark.browser


def _fleet(server: LiveServer, tag: str) -> dict[str, object]:
    """An application with two releases; four devices named for the filter, one running 1.0.0
    already; one device the filter leaves out."""
    with server.api() as api:
        app = api.post("/api/v1/applications", json={"name": f"fleet-{tag}"}).json()
        releases = [
            api.post(
                f"/api/v1/applications/{app['id']}/releases",
                json={"version": v, "containers": [factories.container("web", f"busybox:{b}")]},
            ).json()
            for v, b in (("1.0.0", "1.36"), ("1.1.0", "1.37"))
        ]
        devices = [
            api.post("/api/v1/devices", json={"name": f"fl-{tag}-{i}"}).json() for i in range(4)
        ]
        outsider = api.post("/api/v1/devices", json={"name": f"other-{tag}"}).json()
        deployed = api.post(
            "/api/v1/deployments",
            json={"release_id": releases[0]["id"], "device_id": devices[3]["id"]},
        )
        assert deployed.status_code == 201, deployed.text
    return {
        "app": app,
        "v1": releases[0],
        "v2": releases[1],
        "devices": devices,
        "outsider": outsider,
    }


def _shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _sign_in(page: Page, server: LiveServer) -> None:
    page.goto("/sign-in")
    page.get_by_label("API token").fill(server.admin_token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Image credentials", exact=True)).to_be_visible()


def _versions(server: LiveServer, release_id: str) -> list[str]:
    with server.api() as api:
        items = api.get("/api/v1/deployments", params={"release_id": release_id}).json()["items"]
    return sorted(d["device"] for d in items)


def bulk_deploy(page: Page, server: LiveServer, tag: str, fleet: dict) -> None:
    """Filter by name, select all shown (three new, one already running it), deploy."""
    page.goto(f"/releases/{fleet['v1']['id']}")
    page.get_by_label("Filter devices by name").fill(f"fl-{tag}")
    page.get_by_role("button", name="Filter").click()
    picks = page.locator("#device-picks")
    expect(picks.get_by_role("checkbox")).to_have_count(4)
    expect(picks).not_to_contain_text(f"other-{tag}")
    expect(picks.get_by_text("(runs 1.0.0)")).to_have_count(1)
    page.get_by_role("button", name="Select all shown").click()
    for i in range(4):
        expect(page.get_by_label(f"fl-{tag}-{i}")).to_be_checked()
    _shot(page, "release-deploy-many")
    page.get_by_role("button", name="Deploy 1.0.0").click()
    expect(page.locator("#deploy-summary")).to_have_text(
        "3 created, 1 already deployed, 0 refused."
    )
    outcomes = page.locator("#deploy-outcomes")
    for i in range(3):
        expect(outcomes.get_by_role("row").filter(has_text=f"fl-{tag}-{i}")).to_contain_text(
            "created"
        )
    expect(outcomes.get_by_role("row").filter(has_text=f"fl-{tag}-3")).to_contain_text(
        "already deployed"
    )
    _shot(page, "release-deployed-many")
    assert _versions(server, fleet["v1"]["id"]) == [f"fl-{tag}-{i}" for i in range(4)]


def upgrade_all(page: Page, server: LiveServer, tag: str, fleet: dict) -> None:
    """From 1.1.0's page: one button upgrades the four deployments of 1.0.0."""
    page.goto(f"/releases/{fleet['v2']['id']}")
    button = page.get_by_role("button", name="Upgrade the 4 deployments of 1.0.0 to 1.1.0")
    _shot(page, "release-upgrade")
    button.click()
    expect(page.get_by_role("status")).to_contain_text("Upgrade requested for 4 deployment(s)")
    expect(page.get_by_role("button", name=re.compile("Upgrade the .* of 1.0.0"))).to_have_count(0)
    assert _versions(server, fleet["v2"]["id"]) == [f"fl-{tag}-{i}" for i in range(4)]
    assert _versions(server, fleet["v1"]["id"]) == []


def reissue_token(page: Page, server: LiveServer, fleet: dict) -> None:
    """The old token, known to the server's memory, is refused the moment the page answers."""
    device = fleet["devices"][0]
    with httpx.Client(base_url=server.url, timeout=30) as agent:
        old = {"Authorization": f"Bearer {device['token']}"}
        assert agent.get("/device/v1/ping", headers=old).status_code == 204
        assert agent.get("/device/v1/desired-state", headers=old).status_code == 200
        page.goto(f"/devices/{device['id']}")
        page.get_by_text("Re-issue the device token").click()
        page.get_by_label(f"Stop the current token of {device['name']} now").check()
        page.get_by_role("button", name="Re-issue token").click()
        expect(
            page.get_by_role("heading", name=f"New token for “{device['name']}”")
        ).to_be_visible()
        token = page.get_by_label("Device token").input_value()
        assert token.startswith("edd_") and token != device["token"]
        _shot(page, "device-token-reissued")
        assert agent.get("/device/v1/ping", headers=old).status_code == 401
        assert agent.get("/device/v1/desired-state", headers=old).status_code == 401
        new = {"Authorization": f"Bearer {token}"}
        assert agent.get("/device/v1/ping", headers=new).status_code == 204
    page.goto(f"/devices/{device['id']}")
    expect(page.locator("body")).not_to_contain_text(token)


def deploy_from_device(page: Page, server: LiveServer, tag: str, fleet: dict) -> None:
    outsider = fleet["outsider"]
    page.goto(f"/devices/{outsider['id']}")
    page.get_by_label("Application and release").select_option(label=f"fleet-{tag} 1.1.0")
    _shot(page, "device-deploy")
    page.get_by_role("button", name="Deploy", exact=True).click()
    expect(page).to_have_url(re.compile(r"/deployments/[0-9a-f-]{36}$"))
    assert outsider["name"] in _versions(server, fleet["v2"]["id"])


def test_fleet_actions_in_chromium(live_server: LiveServer, chromium: Browser) -> None:  # noqa: F811
    tag = secrets.token_hex(3)
    fleet = _fleet(live_server, tag)
    context = chromium.new_context(viewport=LAPTOP, base_url=live_server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    _sign_in(page, live_server)
    bulk_deploy(page, live_server, tag, fleet)
    upgrade_all(page, live_server, tag, fleet)
    reissue_token(page, live_server, fleet)
    deploy_from_device(page, live_server, tag, fleet)
    context.close()

"""The "Replace with…" journey in a real browser (Debian's Chromium) against `edgedock serve`:
pick the new credentials, see the plan, fix a taken version on the page, confirm.

Screenshots go to `screenshots/` at the repository root, as for the main journey.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests import factories
from tests.support.live_server import LiveServer
from tests.web.test_browser import LAPTOP, SCREENSHOTS, chromium

__all__ = ["chromium"]  # a fixture, for pytest

pytestmark = pytest.mark.browser


def _setup(server: LiveServer) -> dict[str, Any]:
    """Old credentials on 1.0.0 (deployed) and 1.1.0 (the highest, with 1.0.1 taken)."""
    tag = secrets.token_hex(3)
    with server.api() as http:

        def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
            response = http.post(f"/api/v1{path}", json=body)
            assert response.status_code == 201, response.text
            created: dict[str, Any] = response.json()
            return created

        def creds(label: str) -> dict[str, Any]:
            body = {"label": label, "username": "robot", "password": factories.unique_password()}
            return post("/image-credentials", body)

        old, new = creds(f"old robot {tag}"), creds(f"new robot {tag}")
        app = post("/applications", {"name": f"shop-{tag}"})
        web = [factories.container("web", "ghcr.io/a/web:1", image_credentials_id=old["id"])]
        releases = {
            v: post(f"/applications/{app['id']}/releases", {"version": v, "containers": web})
            for v in ("1.0.0", "1.1.0")
        }
        plain = [factories.container("web", "ghcr.io/a/web:2")]
        post(f"/applications/{app['id']}/releases", {"version": "1.0.1", "containers": plain})
        device = post("/devices", {"name": f"gw-{tag}"})
        post("/deployments", {"release_id": releases["1.0.0"]["id"], "device_id": device["id"]})
    return {"old": old, "new": new, "app": app, "releases": releases, "device": device}


def test_replace_journey_in_chromium(live_server: LiveServer, chromium: Browser) -> None:
    s = _setup(live_server)
    context = chromium.new_context(viewport=LAPTOP, base_url=live_server.url)
    page = context.new_page()
    page.goto("/sign-in")
    page.get_by_label("API token").fill(live_server.admin_token)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"/image-credentials/{s['old']['id']}")
    page.get_by_role("button", name="Replace with…").click()
    expect(page.get_by_role("heading", name=f"Replace “{s['old']['label']}”")).to_be_visible()

    page.get_by_label("New credentials", exact=True).select_option(value=s["new"]["id"])
    page.get_by_role("button", name="Show the plan").click()
    # 1.0.0's next patch, 1.0.1, is taken: the error stands next to its version input.
    taken = page.get_by_label("New version of " + s["app"]["name"] + " 1.0.0")
    expect(taken).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text("already has a release 1.0.1")).to_be_visible()
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "credentials-replace-conflict.png"), full_page=True)

    taken.fill("1.0.2")
    page.get_by_role("button", name="Show the plan").click()
    summary = page.locator("#plan-summary")
    expect(summary).to_contain_text("2 new releases in 1 application; 1 deployment upgraded")
    expect(page.locator("#plan-deployments")).to_contain_text(s["device"]["name"])
    page.screenshot(path=str(SCREENSHOTS / "credentials-replace-plan.png"), full_page=True)

    page.get_by_role("button", name="Replace now").click()
    expect(page.get_by_text("2 new release(s), 1 deployment(s) upgraded")).to_be_visible()
    expect(page).to_have_url(re.compile(f"/image-credentials/{s['old']['id']}$"))
    context.close()
    with live_server.api() as http:
        listed = http.get(f"/api/v1/applications/{s['app']['id']}/releases").json()["items"]
        deployments = http.get("/api/v1/deployments", params={"device_id": s["device"]["id"]})
    assert sorted(r["version"] for r in listed) == ["1.0.0", "1.0.1", "1.0.2", "1.1.0", "1.1.1"]
    (deployment,) = deployments.json()["items"]
    assert deployment["version"] == "1.0.2"

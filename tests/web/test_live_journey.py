"""The deployment page in Chromium, live, with a real agent on Podman and a real registry.

1.0.0 runs; an upgrade to 1.1.0 whose credentials the registry refuses shows, without a
reload, "1.0.0 still running; upgrade to 1.1.0 failed: …" with the likely fix and a link to
the credentials used; replacing those credentials (as a second operator does, through the API)
brings the page to 1.1.1 running by itself; deleting the deployment needs the device's name.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from edgedock.agent.backoff import BackoffPolicy
from tests.e2e.agent_support import Operator, agent_running, clear_engine, managed, wait_for
from tests.support.engine import EngineInfo
from tests.support.fixtures import (
    PrivateImage,
    engine,
    private_image,
    registry,
    registry_credentials,
)
from tests.support.live_server import LiveServer
from tests.web.test_browser import LAPTOP, SCREENSHOTS, chromium

__all__ = ["chromium", "engine", "private_image", "registry", "registry_credentials"]

pytestmark = [pytest.mark.browser, pytest.mark.real_engine]

SLOW = 90_000  # ms: a pull, a container start and a report, on two shared cores
MARK = "window.__edgedockSamePage"


@pytest.fixture
def empty_engine(engine: EngineInfo) -> Iterator[EngineInfo]:
    clear_engine(engine)
    yield engine
    clear_engine(engine)


def _release(op: Operator, app: dict[str, Any], version: str, image: str, creds: str) -> Any:
    container = {
        "name": "app",
        "image": image,
        "image_credentials_id": creds,
        "env": {"VERSION": version},
    }
    body = {"version": version, "containers": [container]}
    return op.call("POST", f"/applications/{app['id']}/releases", 201, json=body)


def _shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _sign_in(page: Page, server: LiveServer) -> None:
    page.goto("/")
    page.get_by_label("API token").fill(server.admin_token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Image credentials", exact=True)).to_be_visible()


def test_failed_upgrade_shows_still_running_live_then_recovers_in_chromium(
    live_server: LiveServer,
    chromium: Browser,
    empty_engine: EngineInfo,
    private_image: PrivateImage,
) -> None:
    op = Operator(live_server)
    tag = secrets.token_hex(3)
    good = op.call(
        "POST",
        "/image-credentials",
        201,
        json={
            "label": f"Registry robot {tag}",
            "username": private_image.username,
            "password": private_image.password,
        },
    )
    bad = op.call(
        "POST",
        "/image-credentials",
        201,
        json={
            "label": f"Old robot {tag}",
            "username": private_image.username,
            "password": f"{private_image.password}-stale",
        },
    )
    app = op.call("POST", "/applications", 201, json={"name": f"shop-{tag}"})
    first = _release(op, app, "1.0.0", private_image.image, good["id"])
    _release(op, app, "1.1.0", private_image.image, bad["id"])
    device = op.device()
    deployment = op.deploy(first, device)
    fast = BackoffPolicy(initial=0.5, maximum=2.0)

    context = chromium.new_context(viewport=LAPTOP, base_url=live_server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    with agent_running(
        live_server, device["token"], empty_engine, poll_wait=1.0, pull_backoff=fast
    ):
        _sign_in(page, live_server)
        page.goto(f"/deployments/{deployment['id']}")
        truth = page.locator("#truth")
        expect(truth).to_have_text("1.0.0 running", timeout=SLOW)  # arrived live

        page.get_by_label("Release to upgrade to").select_option(label="1.1.0")
        page.get_by_role("button", name="Upgrade").click()
        expect(page.get_by_role("heading", name=re.compile("1.1.0 on"))).to_be_visible()
        page.evaluate(f"{MARK} = true")
        expect(truth).to_contain_text(
            "1.0.0 still running; upgrade to 1.1.0 failed: app:", timeout=SLOW
        )
        expect(truth).to_contain_text("unauthorized: authentication required")
        assert page.evaluate(MARK) is True, "the page changed without a reload"
        problem = page.locator("article.problem")
        expect(problem).to_contain_text("The registry refused the username or password.")
        expect(problem).to_contain_text("Create new credentials with the right password")
        expect(problem.get_by_role("link", name=bad["label"])).to_have_attribute(
            "href", f"/image-credentials/{bad['id']}"
        )
        running = page.locator("table.running")
        expect(running).to_contain_text("1.0.0")
        expect(running).to_contain_text("previous release")
        _shot(page, "deployment-failed-upgrade")
        assert [row[2] for row in managed(empty_engine)] == ["running"]  # 1.0.0 serves on

        # Recovery: the stale credentials replaced by the good ones, in one step elsewhere.
        op.call("POST", f"/image-credentials/{bad['id']}/replace", 200, json={"with": good["id"]})
        expect(page.get_by_role("heading", name=re.compile("1.1.1 on"))).to_be_visible(timeout=SLOW)
        expect(truth).to_have_text("1.1.1 running", timeout=SLOW)
        expect(page.locator("article.problem")).to_have_count(0)
        expect(page.locator("ol.timeline")).to_contain_text("pull failed")
        _shot(page, "deployment-recovered")

        page.get_by_text("Delete this deployment").click()
        page.get_by_label("Type the device name").fill("not-the-device")
        page.get_by_role("button", name="Delete deployment").click()
        expect(page.locator("#confirm_device-error")).to_contain_text("exactly")
        page.get_by_label("Type the device name").fill(device["name"])
        _shot(page, "deployment-delete")
        page.get_by_role("button", name="Delete deployment").click()
        expect(page.get_by_role("status")).to_contain_text("deleted")
        wait_for(lambda: managed(empty_engine) == [], what="the agent to remove the containers")
    context.close()

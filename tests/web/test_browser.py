"""The operator's main journey in a real browser (Debian's Chromium) against `edgedock serve`.

Screenshots of the main pages go to `screenshots/` at the repository root. Without Chromium
this test fails, saying how to install it: a silent skip would hide that the UI went untested.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests import factories
from tests.support.live_server import LiveServer

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
LAPTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def chromium(live_server: LiveServer) -> Iterator[Browser]:
    """Started after the live server and stopped before it: while Playwright's sync API runs,
    its event loop is the thread's running loop, and the server fixture's own `asyncio.run`
    (creating and dropping the test database) would fail."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is missing at {CHROMIUM}: the browser tests need it. Install it with "
            "`make system-packages` (or `apt-get install -y chromium`)."
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Journey:
    """One signed-in browser tab, the page sources it saw, and screenshots."""

    def __init__(self, context: BrowserContext) -> None:
        self.context = context
        self.page: Page = context.new_page()
        self.sources: list[str] = []
        self.visited: set[str] = set()

    def keep(self) -> None:
        self.sources.append(self.page.content())
        self.visited.add(self.page.url)

    def shot(self, name: str, page: Page | None = None) -> None:
        SCREENSHOTS.mkdir(exist_ok=True)
        (page or self.page).screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    def nav(self, name: str) -> None:
        self.page.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()


def report_status(server: LiveServer, device_token: str, deployment_id: str, ids: dict) -> None:
    """What an agent would report: `web` runs, `worker`'s pull was refused by the registry."""
    refused = "unauthorized: authentication required"
    now = datetime.now(UTC).isoformat()
    report = {
        "engine": {"name": "Podman Engine", "version": "5.4.2", "os": "linux", "arch": "amd64"},
        "containers": [
            {"deployment_id": deployment_id, "container_id": ids["web"], "status": "running"},
            {
                "deployment_id": deployment_id,
                "container_id": ids["worker"],
                "status": "error",
                "message": refused,
            },
        ],
        "events": [
            {
                "deployment_id": deployment_id,
                "container_id": ids["worker"],
                "kind": "pull_failed",
                "message": refused,
                "at": now,
            }
        ],
    }
    with httpx.Client(base_url=server.url, timeout=30) as agent:
        response = agent.post(
            "/device/v1/status",
            json=report,
            headers={"Authorization": f"Bearer {device_token}"},
        )
        assert response.status_code == 204, response.text


def test_operator_journey_in_chromium(live_server: LiveServer, chromium: Browser) -> None:
    password = factories.unique_password()
    tag = secrets.token_hex(3)
    label, app_name, device_name = f"GHCR robot {tag}", f"shop-{tag}", f"gw-{tag}"
    context = chromium.new_context(viewport=LAPTOP, base_url=live_server.url)
    context.set_default_timeout(10_000)
    journey = Journey(context)
    page = journey.page

    # Sign in as a new user would: the start page asks for a token.
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/sign-in"))
    journey.shot("sign-in")
    page.get_by_label("API token").fill(live_server.admin_token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Image credentials", exact=True)).to_be_visible()

    # Create credentials; the show/hide toggle works, the password is sent once.
    page.get_by_role("button", name="New credentials").click()
    page.get_by_label("Label").fill(label)
    page.get_by_label("Username").fill("robot")
    secret = page.get_by_label("Password or access token", exact=True)
    secret.fill(password)
    page.get_by_role("button", name="Show password").click()
    expect(secret).to_have_attribute("type", "text")
    page.get_by_role("button", name="Hide password").click()
    expect(secret).to_have_attribute("type", "password")
    journey.shot("credentials-new")
    page.get_by_role("button", name="Create credentials").click()
    expect(page.get_by_role("heading", name=label)).to_be_visible()
    journey.keep()

    journey.nav("Credentials")
    row = page.get_by_role("row").filter(has_text=label)
    expect(row).to_contain_text("robot")
    expect(row).to_contain_text("unused")
    journey.keep()
    journey.shot("credentials-list")

    # An application and a release whose containers pick the credentials from the dropdown.
    journey.nav("Applications")
    page.get_by_role("button", name="New application").click()
    page.get_by_label("Name").fill(app_name)
    page.get_by_label("Description").fill("The web shop and its worker.")
    page.get_by_role("button", name="Create application").click()
    expect(page.get_by_role("heading", name=app_name)).to_be_visible()
    page.get_by_role("button", name="New release").click()
    page.get_by_label("Version").fill("1.0.0")
    page.locator("#containers-0-name").fill("web")
    page.locator("#containers-0-image").fill("ghcr.io/acme/web:1.0")
    page.locator("#containers-0-credentials_id").select_option(label=f"{label} (robot)")
    page.locator("#containers-0-ports").fill("8080:80")
    page.locator("#containers-1-name").fill("worker")
    page.locator("#containers-1-image").fill("Quay.io/Acme/Worker!!")
    page.locator("#containers-1-credentials_id").select_option(label=f"{label} (robot)")
    page.get_by_role("button", name="Create release").click()
    image_error = page.locator("#containers-1-image-error")
    expect(image_error).to_contain_text("invalid image reference")
    expect(page.locator("#containers-1-image")).to_have_attribute("aria-invalid", "true")
    journey.keep()
    journey.shot("release-new-error")
    page.locator("#containers-1-image").fill("quay.io/acme/worker:1.0")
    page.get_by_role("button", name="Create release").click()
    expect(page.get_by_role("heading", name=f"{app_name} 1.0.0")).to_be_visible()
    expect(page.get_by_role("alert").filter(has_text="2 registries")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="worker")).to_contain_text(f"{label} (robot)")
    release_url = page.url
    journey.keep()
    journey.shot("release")

    # Register a device: its token and agent command are shown once.
    journey.nav("Devices")
    page.get_by_role("button", name="Register a device").click()
    page.get_by_label("Device name").fill(device_name)
    page.get_by_role("button", name="Register device").click()
    token = page.get_by_label("Device token").input_value()
    assert token.startswith("edd_")
    expect(page.locator("#agent-command")).to_contain_text(
        f"edgedock agent --server {live_server.url}"
    )
    journey.shot("device-created")

    # Deploy the release there and watch the status the device reports.
    page.goto(release_url)
    page.get_by_label("Device", exact=True).select_option(label=device_name)
    page.get_by_role("button", name="Deploy 1.0.0").click()
    expect(page.get_by_role("heading", name=f"{app_name} 1.0.0 on {device_name}")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="worker")).to_contain_text("pending")
    deployment_id = page.url.rsplit("/", 1)[1]
    with live_server.api() as api:
        release = api.get(f"/api/v1/deployments/{deployment_id}").json()
    ids = {c["name"]: c["id"] for c in release["containers"]}
    report_status(live_server, token, deployment_id, ids)
    page.reload()
    expect(page.get_by_role("row").filter(has_text="ghcr.io/acme/web")).to_contain_text("running")
    worker = page.get_by_role("row").filter(has_text="quay.io/acme/worker")
    expect(worker).to_contain_text("error")
    expect(worker).to_contain_text("unauthorized: authentication required")
    expect(page.locator("ol.timeline")).to_contain_text("pull_failed")
    page.get_by_role("button", name="Stop").click()
    expect(page.locator("ol.timeline")).to_contain_text("stop_requested")
    page.get_by_role("button", name="Start").click()
    expect(page.locator("ol.timeline")).to_contain_text("start_requested")
    journey.keep()
    journey.shot("deployment")
    deployment_url = page.url

    journey.nav("Devices")
    expect(page.get_by_role("row").filter(has_text=device_name)).to_contain_text("online")
    journey.keep()
    journey.shot("devices")

    # The same pages on a phone.
    phone = chromium.new_context(
        viewport=PHONE, base_url=live_server.url, storage_state=context.storage_state()
    )
    phone_page = phone.new_page()
    phone_page.goto(deployment_url)
    expect(phone_page.get_by_role("button", name="Sign out")).to_be_visible()
    journey.shot("phone-deployment", phone_page)
    phone_page.goto("/image-credentials")
    journey.shot("phone-credentials-list", phone_page)
    phone.close()

    # Delete the credentials: the references that break are shown, the label must be typed.
    journey.nav("Credentials")
    page.get_by_role("link", name=label).click()
    used_by = page.locator("section").filter(has=page.get_by_role("heading", name="Used by"))
    expect(used_by.get_by_role("row").filter(has_text="worker")).to_contain_text(app_name)
    journey.keep()
    journey.shot("credentials-detail")
    page.get_by_role("button", name="Delete…").click()
    expect(page.get_by_role("alert")).to_contain_text("2 containers of releases use these")
    page.get_by_label("to confirm").fill("not the label")
    page.get_by_role("button", name="Delete these credentials").click()
    expect(page.locator("#confirm_label-error")).to_contain_text("exactly")
    journey.keep()
    page.get_by_label("to confirm").fill(label)
    journey.shot("credentials-delete")
    page.get_by_role("button", name="Delete these credentials").click()
    expect(page.get_by_role("status")).to_contain_text("deleted")
    expect(page.get_by_role("row").filter(has_text=label)).to_have_count(0)
    journey.keep()

    # The audit log, filtered to that delete.
    journey.nav("Audit log")
    page.get_by_label("Action").select_option("credentials.deleted")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("row").filter(has_text=label)).to_contain_text("forced")
    journey.keep()
    journey.shot("audit")

    # No page ever carried the password, as rendered or as the server sent it.
    raw = [context.request.get(url).text() for url in sorted(journey.visited)]
    for source in journey.sources + raw:
        assert password not in source
        assert password.split("-", 1)[1][:24] not in source

    # Sign out: the session is gone.
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/sign-in"))
    page.goto("/image-credentials")
    expect(page).to_have_url(re.compile(r"/sign-in\?next=/image-credentials"))
    context.close()

"""The operator's main journey in a real browser (Debian's Chromium) against `edgedock serve`.

Screenshots of the main pages go to `screenshots/` at the repository root. Without Chromium
this test fails, saying how to install it: a silent skip would hide that the UI went untested.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
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


@dataclass
class Journey:
    """One operator's browser tab, the names they pick, the page sources they saw."""

    server: LiveServer
    context: BrowserContext
    page: Page
    tag: str = field(default_factory=lambda: secrets.token_hex(3))
    password: str = field(default_factory=factories.unique_password)
    sources: list[str] = field(default_factory=list)
    visited: set[str] = field(default_factory=set)

    @property
    def label(self) -> str:
        return f"GHCR robot {self.tag}"

    @property
    def app_name(self) -> str:
        return f"shop-{self.tag}"

    @property
    def device_name(self) -> str:
        return f"gw-{self.tag}"

    def keep(self) -> None:
        """Keep this page's source, to search for the password at the end."""
        self.sources.append(self.page.content())
        self.visited.add(self.page.url)

    def shot(self, name: str, page: Page | None = None) -> None:
        SCREENSHOTS.mkdir(exist_ok=True)
        (page or self.page).screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    def nav(self, name: str) -> None:
        self.page.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()


def sign_in(j: Journey) -> None:
    """As a new user would: the start page asks for a token."""
    j.page.goto("/")
    expect(j.page).to_have_url(re.compile(r"/sign-in"))
    j.shot("sign-in")
    j.page.get_by_label("API token").fill(j.server.admin_token)
    j.page.get_by_role("button", name="Sign in").click()
    expect(j.page.get_by_role("heading", name="Image credentials", exact=True)).to_be_visible()


def create_credentials(j: Journey) -> None:
    """The show/hide toggle works; the password goes to the server once and never comes back."""
    page = j.page
    page.get_by_role("button", name="New credentials").click()
    page.get_by_label("Label").fill(j.label)
    page.get_by_label("Username").fill("robot")
    secret = page.get_by_label("Password or access token", exact=True)
    secret.fill(j.password)
    page.get_by_role("button", name="Show password").click()
    expect(secret).to_have_attribute("type", "text")
    page.get_by_role("button", name="Hide password").click()
    expect(secret).to_have_attribute("type", "password")
    j.shot("credentials-new")
    page.get_by_role("button", name="Create credentials").click()
    expect(page.get_by_role("heading", name=j.label)).to_be_visible()
    j.keep()
    j.nav("Credentials")
    row = page.get_by_role("row").filter(has_text=j.label)
    expect(row).to_contain_text("robot")
    expect(row).to_contain_text("unused")
    j.keep()
    assert j.password not in page.content()
    j.shot("credentials-list")


def create_release(j: Journey) -> str:
    """An application, then a release whose containers pick the credentials from the dropdown."""
    page = j.page
    j.nav("Applications")
    page.get_by_role("button", name="New application").click()
    page.get_by_label("Name").fill(j.app_name)
    page.get_by_label("Description").fill("The web shop and its worker.")
    page.get_by_role("button", name="Create application").click()
    expect(page.get_by_role("heading", name=j.app_name)).to_be_visible()
    page.get_by_role("button", name="New release").click()
    page.get_by_label("Version").fill("1.0.0")
    page.locator("#containers-0-name").fill("web")
    page.locator("#containers-0-image").fill("ghcr.io/acme/web:1.0")
    page.locator("#containers-0-credentials_id").select_option(label=f"{j.label} (robot)")
    page.locator("#containers-0-ports").fill("8080:80")
    page.locator("#containers-1-name").fill("worker")
    page.locator("#containers-1-image").fill("Quay.io/Acme/Worker!!")
    page.locator("#containers-1-credentials_id").select_option(label=f"{j.label} (robot)")
    page.get_by_role("button", name="Create release").click()
    expect(page.locator("#containers-1-image-error")).to_contain_text("invalid image reference")
    expect(page.locator("#containers-1-image")).to_have_attribute("aria-invalid", "true")
    j.keep()
    j.shot("release-new-error")
    page.locator("#containers-1-image").fill("quay.io/acme/worker:1.0")
    page.get_by_role("button", name="Create release").click()
    expect(page.get_by_role("heading", name=f"{j.app_name} 1.0.0")).to_be_visible()
    expect(page.get_by_role("alert").filter(has_text="2 registries")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="worker")).to_contain_text(f"{j.label} (robot)")
    j.keep()
    j.shot("release")
    return page.url


def register_device(j: Journey) -> str:
    """Returns the device token, shown once with the command that starts the agent."""
    j.nav("Devices")
    j.page.get_by_role("button", name="Register a device").click()
    j.page.get_by_label("Device name").fill(j.device_name)
    j.page.get_by_role("button", name="Register device").click()
    token = j.page.get_by_label("Device token").input_value()
    assert token.startswith("edd_")
    expect(j.page.locator("#agent-install")).to_contain_text(
        f"edgedock agent install-service --server {j.server.url}"
    )
    j.shot("device-created")
    return token


def report_status(server: LiveServer, device_token: str, deployment_id: str) -> None:
    """What an agent would report: `web` runs, `worker`'s pull was refused by the registry."""
    with server.api() as api:
        deployment = api.get(f"/api/v1/deployments/{deployment_id}").json()
    ids = {c["name"]: c["id"] for c in deployment["containers"]}
    refused = "unauthorized: authentication required"
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
                "at": datetime.now(UTC).isoformat(),
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


def deploy_and_watch(j: Journey, release_url: str, device_token: str) -> str:
    """Deploy from the release page; the status the device reports shows, then stop and start."""
    page = j.page
    page.goto(release_url)
    page.get_by_label(j.device_name, exact=True).check()
    page.get_by_role("button", name="Deploy 1.0.0").click()
    heading = f"{j.app_name} 1.0.0 on {j.device_name}"
    expect(page.get_by_role("heading", name=heading)).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="worker")).to_contain_text("pending")
    report_status(j.server, device_token, page.url.rsplit("/", 1)[1])
    page.reload()
    expect(page.get_by_role("row").filter(has_text="ghcr.io/acme/web")).to_contain_text("running")
    worker = page.get_by_role("row").filter(has_text="quay.io/acme/worker")
    expect(worker).to_contain_text("error")
    expect(worker).to_contain_text("unauthorized: authentication required")
    timeline = page.locator("ol.timeline")
    expect(timeline).to_contain_text("pull failed")
    page.get_by_role("button", name="Stop").click()
    expect(timeline).to_contain_text("stop requested")
    page.get_by_role("button", name="Start").click()
    expect(timeline).to_contain_text("start requested")
    j.keep()
    j.shot("deployment")
    deployment_url = page.url
    j.nav("Devices")
    expect(page.get_by_role("row").filter(has_text=j.device_name)).to_contain_text("online")
    j.keep()
    j.shot("devices")
    return deployment_url


def look_on_a_phone(j: Journey, browser: Browser, deployment_url: str) -> None:
    phone = browser.new_context(
        viewport=PHONE, base_url=j.server.url, storage_state=j.context.storage_state()
    )
    page = phone.new_page()
    page.goto(deployment_url)
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    j.shot("phone-deployment", page)
    page.goto("/image-credentials")
    j.shot("phone-credentials-list", page)
    phone.close()


def delete_credentials(j: Journey) -> None:
    """The references that will break are shown first, and the label must be typed."""
    page = j.page
    j.nav("Credentials")
    page.get_by_role("link", name=j.label).click()
    used_by = page.locator("section").filter(has=page.get_by_role("heading", name="Used by"))
    expect(used_by.get_by_role("row").filter(has_text="worker")).to_contain_text(j.app_name)
    j.keep()
    j.shot("credentials-detail")
    page.get_by_role("button", name="Delete…").click()
    expect(page.get_by_role("alert")).to_contain_text("2 containers of releases use these")
    page.get_by_label("to confirm").fill("not the label")
    page.get_by_role("button", name="Delete these credentials").click()
    expect(page.locator("#confirm_label-error")).to_contain_text("exactly")
    j.keep()
    page.get_by_label("to confirm").fill(j.label)
    j.shot("credentials-delete")
    page.get_by_role("button", name="Delete these credentials").click()
    expect(page.get_by_role("status")).to_contain_text("deleted")
    expect(page.get_by_role("row").filter(has_text=j.label)).to_have_count(0)
    j.keep()


def filter_audit_log(j: Journey) -> None:
    j.nav("Audit log")
    j.page.get_by_label("Action").select_option("credentials.deleted")
    j.page.get_by_role("button", name="Filter").click()
    expect(j.page.get_by_role("row").filter(has_text=j.label)).to_contain_text("forced")
    j.keep()
    j.shot("audit")


def assert_password_never_sent(j: Journey) -> None:
    """In every page as rendered, and in every page as the server sends it."""
    raw = [j.context.request.get(url).text() for url in sorted(j.visited)]
    for source in j.sources + raw:
        assert j.password not in source
        assert j.password.split("-", 1)[1][:24] not in source


def sign_out(j: Journey) -> None:
    j.page.get_by_role("button", name="Sign out").click()
    expect(j.page).to_have_url(re.compile(r"/sign-in"))
    j.page.goto("/image-credentials")
    expect(j.page).to_have_url(re.compile(r"/sign-in\?next=/image-credentials"))


def test_operator_journey_in_chromium(live_server: LiveServer, chromium: Browser) -> None:
    context = chromium.new_context(viewport=LAPTOP, base_url=live_server.url)
    context.set_default_timeout(10_000)
    journey = Journey(live_server, context, context.new_page())
    sign_in(journey)
    create_credentials(journey)
    release_url = create_release(journey)
    device_token = register_device(journey)
    deployment_url = deploy_and_watch(journey, release_url, device_token)
    look_on_a_phone(journey, chromium, deployment_url)
    delete_credentials(journey)
    filter_audit_log(journey)
    assert_password_never_sent(journey)
    sign_out(journey)
    context.close()

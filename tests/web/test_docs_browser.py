"""/docs in a real browser: Swagger UI renders the API under the strict CSP, all from here."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.conftest import create_database
from tests.support.live_server import running_server, server_env
from tests.web.test_browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser


def test_docs_render_in_chromium_without_other_origins_or_csp_violations(tmp_path: Path):
    url = create_database("sqlite", tmp_path)
    env = {**server_env(tmp_path, url), "EDGEDOCK_DOCS": "1"}
    with running_server(tmp_path / "server", url, env=env) as server, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page()
        requested: list[str] = []
        problems: list[str] = []
        page.on("request", lambda r: requested.append(r.url))
        page.on(
            "console",
            lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None,
        )
        page.goto(f"{server.url}/docs")
        page.wait_for_selector(".opblock")
        operations = page.locator(".opblock").count()
        browser.close()
    assert operations > 20, "every API operation is listed"
    assert problems == []
    foreign = [u for u in requested if not u.startswith((server.url, "data:"))]
    assert foreign == []

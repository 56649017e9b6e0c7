"""A planted password is in no answer, stored message, audit event, page or log line of a
check, even when the registry echoes the request it was sent (tests.support.echo_registry)."""

from __future__ import annotations

import base64
import json
import logging
from urllib.parse import quote, quote_plus

import pytest

from tests import factories
from tests.support.echo_registry import running_echo_registry
from tests.web.conftest import browser_for, sign_in

URL = "/api/v1/image-credentials"


def forms_of(username: str, password: str) -> list[str]:
    basic = f"{username}:{password}".encode()
    found = {password, quote(password, safe=""), quote_plus(password), json.dumps(password)[1:-1]}
    for raw in (basic, password.encode()):
        for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
            found |= {encoded.decode(), encoded.decode().rstrip("=")}
    found.add(password.split("-", 1)[1][:24])  # the random core, whatever the escaping
    return sorted(found)


def assert_clean(text: str, forms: list[str], where: str) -> None:
    for form in forms:
        assert form not in text, f"a form of the password ({form!r}) is in {where}"


@pytest.mark.parametrize(
    ("mode", "token_ok"), [("basic", False), ("bearer", False), ("bearer", True)]
)
async def test_planted_password_echoed_by_the_registry_is_nowhere(
    app, api, tenant, caplog, mode, token_ok
):
    caplog.set_level(logging.DEBUG)
    password = factories.unique_password("planted")
    created = await factories.credentials(api, username="robot", password=password)
    with running_echo_registry(mode, token_ok=token_ok) as echo:
        image = f"{echo.host}/team/app:1.0"
        answer = await api.post(f"{URL}/{created['id']}/check", json={"image": image})
        refused = await api.post(
            URL,
            json={
                "label": "refused",
                "username": "robot",
                "password": password,
                "check": {"image": image},
            },
        )
    forms = [*forms_of("robot", password), echo.token]
    assert answer.status_code == 200 and answer.json()["ok"] is False
    assert "[redacted]" in answer.json()["message"]  # the echo was there, and scrubbed
    assert refused.status_code == 422
    detail = await api.get(f"{URL}/{created['id']}")
    listed = await api.get(URL)
    events = await api.get("/api/v1/audit-events", params={"credentials_id": created["id"]})
    async with browser_for(app) as browser:
        await sign_in(browser, tenant.token)
        page = await browser.get(f"/image-credentials/{created['id']}")
        list_page = await browser.get("/image-credentials")
    assert page.status_code == 200 and "Check" in page.text
    for where, text in [
        ("the check answer", answer.text),
        ("the refused create", refused.text),
        ("the detail JSON", detail.text),
        ("the list JSON", listed.text),
        ("the audit events", events.text),
        ("the detail page", page.text),
        ("the list page", list_page.text),
        ("the log", caplog.text),
    ]:
        assert_clean(text, forms, where)

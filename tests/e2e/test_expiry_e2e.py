"""Expired credentials, for real: the agent (on Podman) is refused them and the deployment says so.

A live `edgedock serve`, the Debian docker-registry, Podman's Docker API service and the agent in
a thread. The credentials hold an ECR-shaped token that expired yesterday: the server refuses
the registry auth with 410 `credentials_expired`, so no doomed pull reaches the registry; the
agent reports the server's message as the container's error, and the deployment (API and page)
shows it.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.conftest import create_database
from tests.credentials import tokens
from tests.e2e.agent_support import Operator, agent_running, clear_engine, managed, wait_for
from tests.support.engine import EngineInfo
from tests.support.fixtures import (
    PrivateImage,
    engine,
    private_image,
    registry,
    registry_credentials,
)
from tests.support.live_server import LiveServer, running_server
from tests.web.conftest import csrf_of

__all__ = ["engine", "private_image", "registry", "registry_credentials"]  # fixtures, for pytest

pytestmark = pytest.mark.real_engine


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("expiry-e2e")
    with running_server(folder / "server", create_database("sqlite", folder)) as server:
        yield server


def _deployment_page(live: LiveServer, deployment_id: str) -> str:
    with httpx.Client(base_url=live.url, headers={"Accept": "text/html"}, timeout=30) as web:
        form = web.get("/sign-in")
        signed = web.post(
            "/sign-in",
            data={"csrf_token": csrf_of(form.text), "token": live.admin_token, "next": "/"},
        )
        assert signed.status_code == 303, signed.text
        page = web.get(f"/deployments/{deployment_id}")
        assert page.status_code == 200
        return page.text


def test_expired_credentials_are_refused_and_the_deployment_shows_it_e2e(
    live: LiveServer, engine: EngineInfo, private_image: PrivateImage
) -> None:
    clear_engine(engine)
    operator = Operator(live)
    expired_at = datetime.now(UTC) - timedelta(days=1)
    password = tokens.ecr(expired_at)
    creds = operator.credentials("AWS", password)
    assert creds["expiry_state"] == "expired" and creds["expires_at_source"] == "token"
    release = operator.release(private_image.image, creds["id"])
    device = operator.device()
    deployment = operator.deploy(release, device)

    with agent_running(live, device["token"], engine):
        state = wait_for(lambda: operator.status_is(deployment, "error"), what="error")

    message = state["message"]
    assert creds["id"] in message and "expired on" in message
    assert f"{expired_at:%Y-%m-%d %H:%M}" in message and "create new credentials" in message
    assert managed(engine) == [], "nothing was created from a doomed pull"
    assert operator.audit(credentials_id=creds["id"], action="registry_auth.issued") == []
    (expired_event,) = operator.audit(credentials_id=creds["id"], action="credentials.expired")
    assert creds["label"] in expired_event["summary"]
    failures = operator.audit(device_id=device["id"], action="pull.failed")
    assert failures and creds["id"] in failures[0]["summary"]
    page = _deployment_page(live, deployment["id"])
    assert message in html.unescape(page)
    assert creds["label"] in page, "people see the label next to the message"
    assert password not in live.log() and password not in page

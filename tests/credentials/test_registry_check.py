"""The check's outcomes against the real Debian registry, with htpasswd (Basic) and tokens
(Bearer, from the stand-in token issuer): no database, the probe function alone."""

from __future__ import annotations

import socket

import pytest

from edgedock.credentials import registry_check
from edgedock.insecure_registries import InsecureRegistries
from tests.credentials.conftest import LOOPBACK, CheckRegistry
from tests.support.registry import free_port

INSECURE = InsecureRegistries.parse(LOOPBACK)


async def check(username: str, password: str, image: str | None, **kwargs):
    return await registry_check.check(
        username=username, password=password, image=image, insecure=INSECURE, **kwargs
    )


async def test_basic_right_credentials_pass_with_pull_proven(basic_registry: CheckRegistry):
    result = await check("deployer", basic_registry.users["deployer"], basic_registry.image)
    assert (result.ok, result.status, result.scheme) == (True, "ok", "basic")
    assert result.registry == basic_registry.host
    assert result.image == basic_registry.image
    assert result.can_push is None  # htpasswd says nothing about rights


async def test_basic_wrong_password_is_unauthorized_in_the_registry_words(basic_registry):
    result = await check("deployer", "not-the-password", basic_registry.image)
    assert (result.ok, result.status, result.scheme) == (False, "unauthorized", "basic")
    assert "unauthorized: authentication required" in result.message


async def test_basic_unknown_image_is_manifest_unknown(basic_registry):
    result = await check(
        "deployer", basic_registry.users["deployer"], f"{basic_registry.host}/team/app:9.9"
    )
    assert (result.ok, result.status) == (False, "manifest_unknown")
    assert "manifest unknown" in result.message


async def test_basic_login_alone_without_an_image(basic_registry):
    result = await check(
        "deployer", basic_registry.users["deployer"], None, registry=basic_registry.host
    )
    assert (result.ok, result.message, result.image) == (True, "login accepted", None)


async def test_bearer_right_credentials_pass_and_report_pull_only(bearer_registry):
    result = await check("reader", bearer_registry.users["reader"], bearer_registry.image)
    assert (result.ok, result.status, result.scheme) == (True, "ok", "bearer")
    assert result.granted == ("pull",) and result.can_push is False
    scopes = [q.get("scope") for q in bearer_registry.issuer.requests[-2:]]
    assert scopes == [["repository:team/app:pull"], ["repository:team/app:pull,push"]]
    assert all(
        q["service"] == ["edgedock-test-registry"] for q in bearer_registry.issuer.requests[-2:]
    )


async def test_bearer_credentials_that_can_push_are_flagged(bearer_registry):
    result = await check("pusher", bearer_registry.users["pusher"], bearer_registry.image)
    assert result.ok and result.granted == ("pull", "push") and result.can_push is True


async def test_bearer_wrong_password_is_unauthorized_in_the_issuer_words(bearer_registry):
    result = await check("reader", "not-the-password", bearer_registry.image)
    assert (result.ok, result.status, result.scheme) == (False, "unauthorized", "bearer")
    assert result.message == "incorrect username or password"


async def test_bearer_login_without_pull_right_is_denied(bearer_registry):
    result = await check("stranger", bearer_registry.users["stranger"], bearer_registry.image)
    assert (result.ok, result.status) == (False, "denied")
    assert "no pull on team/app" in result.message
    assert "unauthorized: authentication required" in result.message  # the registry's words
    assert result.can_push is None and result.granted == ()  # denied before asking for push


async def test_bearer_unknown_image_is_manifest_unknown(bearer_registry):
    result = await check(
        "reader", bearer_registry.users["reader"], f"{bearer_registry.host}/team/app:9.9"
    )
    assert (result.ok, result.status) == (False, "manifest_unknown")


@pytest.mark.parametrize("scheme", ["http", "https"])
async def test_registry_down_is_a_connection_error(scheme):
    port = free_port()  # nothing listens there
    insecure = INSECURE if scheme == "http" else InsecureRegistries()
    result = await registry_check.check(
        username="u", password="p", image=f"127.0.0.1:{port}/team/app:1.0", insecure=insecure
    )
    assert (result.ok, result.status) == (False, "connection_error")
    assert "cannot connect" in result.message and result.scheme is None


async def test_plain_http_registry_not_listed_is_spoken_to_over_https_and_fails_tls(basic_registry):
    result = await registry_check.check(
        username="deployer",
        password=basic_registry.users["deployer"],
        image=basic_registry.image,
        insecure=InsecureRegistries(),
    )
    assert (result.ok, result.status) == (False, "tls_error")
    assert "TLS" in result.message


async def test_a_registry_that_never_answers_is_a_timeout():
    """A socket that listens but never answers: the kernel accepts, nobody replies."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        result = await check("u", "p", f"127.0.0.1:{port}/team/app:1.0")
    assert (result.ok, result.status) == (False, "timeout")
    assert "did not answer in time" in result.message

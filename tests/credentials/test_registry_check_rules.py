"""Where a credentials check may go: insecure-registries rules, the realm, redirects.

The refusals are decided before a request would leave, so a fake registry
(`httpx.MockTransport`) shows them: no real registry sends a realm on `file:` or a redirect
from `/v2/`. Each fake records what it was asked, to prove nothing else was sent.
"""

from __future__ import annotations

import json

import httpx
import pytest

from edgedock.config import Settings
from edgedock.credentials import registry_check
from edgedock.insecure_registries import InsecureRegistries, split_host_port
from edgedock.www_authenticate import parse_challenges


@pytest.mark.parametrize(
    ("rules", "domain", "allowed"),
    [
        ("registry.lan", "registry.lan", True),
        ("registry.lan", "registry.lan:5000", True),  # a bare host: any port
        ("registry.lan:5000", "registry.lan:5000", True),
        ("registry.lan:5000", "registry.lan:5001", False),
        ("registry.lan:5000", "registry.lan", False),
        ("Registry.LAN", "registry.lan", True),
        ("10.0.0.0/8", "10.1.2.3:5000", True),
        ("10.0.0.0/8", "11.1.2.3:5000", False),
        ("127.0.0.0/8", "localhost:5000", True),  # a name is resolved for a CIDR
        ("::1/128", "[::1]:5000", True),
        ("[::1]:5000", "[::1]:5000", True),
        ("", "localhost:5000", False),
        ("other.lan, registry.lan", "registry.lan", True),
        ("registry.lan", "evil.registry.lan", False),
        ("10.0.0.0/8", "unresolvable.invalid", False),
    ],
)
async def test_insecure_registries_rules(rules, domain, allowed):
    assert await InsecureRegistries.parse(rules).allows_http(domain) is allowed


@pytest.mark.parametrize(
    "bad", ["10.0.0.0/33", "http://registry.lan", "a b", "host:99999", "user@host"]
)
def test_insecure_registries_refuse_bad_entries_naming_them(bad):
    with pytest.raises(ValueError, match=r"insecure registry|invalid port"):
        InsecureRegistries.parse(bad)


def test_settings_refuse_a_bad_insecure_registries_entry():
    with pytest.raises(ValueError, match=r"10\.0\.0\.0/33"):
        Settings(insecure_registries="ok.lan,10.0.0.0/33")


def test_split_host_port():
    assert split_host_port("[::1]:5000") == ("::1", 5000)
    assert split_host_port("Host.Lan") == ("host.lan", None)


def test_www_authenticate_quoted_params_commas_and_several_challenges():
    (bearer,) = parse_challenges(
        ['Bearer realm="https://auth.example/token",service="reg",scope="repository:a/b:pull,push"']
    )
    assert bearer.params == {
        "realm": "https://auth.example/token",
        "service": "reg",
        "scope": "repository:a/b:pull,push",
    }
    basic, second = parse_challenges(['Basic realm="x, \\"y\\"", BEARER Realm=https://a', ""])
    assert (basic.scheme, basic.params) == ("basic", {"realm": 'x, "y"'})
    assert (second.scheme, second.params) == ("bearer", {"realm": "https://a"})


class FakeRegistry:
    """A fake registry answering from a route table; `seen` lists every URL it was sent."""

    def __init__(self, routes: dict[str, httpx.Response]):
        self.routes = routes
        self.seen: list[str] = []

    def transport(self) -> httpx.MockTransport:
        def handle(request: httpx.Request) -> httpx.Response:
            self.seen.append(str(request.url))
            key = f"{request.url.scheme}://{request.url.host}{request.url.path}"
            answer = self.routes.get(key, httpx.Response(599))
            # a fresh copy each time: a response's stream is read only once
            return httpx.Response(
                answer.status_code, headers=answer.headers, content=answer.content
            )

        return httpx.MockTransport(handle)


def bearer_challenge(realm: str) -> httpx.Response:
    return httpx.Response(
        401, headers={"WWW-Authenticate": f'Bearer realm="{realm}",service="reg"'}
    )


async def run(fake: FakeRegistry, image: str = "registry.example/team/app:1.0", insecure: str = ""):
    return await registry_check.check(
        username="u",
        password="secret-password",
        image=image,
        insecure=InsecureRegistries.parse(insecure),
        transport=fake.transport(),
    )


@pytest.mark.parametrize(
    "realm",
    [
        "file:///etc/passwd",
        "http://auth.example/token",
        "gopher://auth.example/",
        "https://user:pw@auth.example/",
    ],
)
async def test_realm_on_another_scheme_or_plain_http_is_refused_fake_registry(realm):
    fake = FakeRegistry({"https://registry.example/v2/": bearer_challenge(realm)})
    result = await run(fake)
    assert (result.ok, result.status) == (False, "not_allowed")
    assert fake.seen == ["https://registry.example/v2/"]  # the realm was never asked


async def test_plain_http_realm_is_allowed_only_for_a_listed_host_fake_registry():
    token = json.dumps({"token": "opaque"})
    fake = FakeRegistry(
        {
            "https://registry.example/v2/": bearer_challenge("http://auth.lan/token"),
            "http://auth.lan/token": httpx.Response(200, content=token),
            "https://registry.example/v2/team/app/manifests/1.0": httpx.Response(200),
        }
    )
    result = await run(fake, insecure="auth.lan")
    assert result.ok and result.granted == () and result.can_push is None  # opaque token


async def test_redirect_from_the_registry_is_not_followed_fake_registry():
    fake = FakeRegistry(
        {
            "https://registry.example/v2/": httpx.Response(
                307, headers={"Location": "http://169.254.169.254/"}
            )
        }
    )
    result = await run(fake)
    assert (result.ok, result.status) == (False, "not_allowed")
    assert "redirect" in result.message
    assert fake.seen == ["https://registry.example/v2/"]


async def test_redirect_from_the_realm_is_not_followed_fake_registry():
    fake = FakeRegistry(
        {
            "https://registry.example/v2/": bearer_challenge("https://auth.example/token"),
            "https://auth.example/token": httpx.Response(
                302, headers={"Location": "https://elsewhere/"}
            ),
        }
    )
    result = await run(fake)
    assert result.status == "not_allowed"
    assert not any("elsewhere" in url for url in fake.seen)


async def test_docker_hub_goes_to_registry_1_and_its_realm_fake_registry():
    hub_token = json.dumps({"access_token": "opaque-hub-token"})
    fake = FakeRegistry(
        {
            "https://registry-1.docker.io/v2/": bearer_challenge("https://auth.docker.io/token"),
            "https://auth.docker.io/token": httpx.Response(200, content=hub_token),
            "https://registry-1.docker.io/v2/library/nginx/manifests/latest": httpx.Response(200),
        }
    )
    result = await run(fake, image="nginx")
    assert result.ok and result.registry == "docker.io" and result.image == "nginx:latest"
    assert "scope=repository%3Alibrary%2Fnginx%3Apull" in fake.seen[1]


async def test_a_huge_error_body_is_read_bounded_and_the_message_cut_fake_registry():
    fake = FakeRegistry(
        {
            "https://registry.example/v2/": httpx.Response(
                401, headers={"WWW-Authenticate": 'Basic realm="r"'}, content=b"x" * 10_000_000
            ),
        }
    )
    result = await run(fake)
    assert result.status == "unauthorized"
    assert len(result.message) <= registry_check.MAX_MESSAGE


async def test_an_invalid_image_is_answered_without_a_request_fake_registry():
    fake = FakeRegistry({})
    result = await run(fake, image="UPPER/Case")
    assert result.status == "invalid_image" and fake.seen == []

"""Real registries for the credentials check: htpasswd (Basic) and token auth (Bearer).

Each holds a tiny image at `team/app:1.0`, pushed over the registry API. The Bearer registry
trusts the stand-in token issuer (tests.support.token_issuer), whose grant table decides who
may pull and push. The app under test may speak plain HTTP to loopback registries only
because its settings list them in `insecure_registries`, as an operator would.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from edgedock.config import Settings
from tests import factories
from tests.support.registry import running_registry
from tests.support.registry_push import push_tiny_image
from tests.support.token_issuer import TokenIssuer, running_token_issuer

LOOPBACK = "localhost,127.0.0.1"
REPOSITORY = "team/app"


@dataclass(frozen=True)
class CheckRegistry:
    host: str  # localhost:PORT, as in image names
    url: str
    users: dict[str, str]  # username → password
    issuer: TokenIssuer | None = None

    @property
    def image(self) -> str:
        return f"{self.host}/{REPOSITORY}:1.0"


def _basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


@pytest.fixture(scope="session")
def basic_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CheckRegistry]:
    users = {"deployer": factories.unique_password("basic")}
    with running_registry(tmp_path_factory.mktemp("check-basic"), users) as info:
        push_tiny_image(
            info.url, REPOSITORY, "1.0", authorization=_basic("deployer", users["deployer"])
        )
        yield CheckRegistry(info.host, info.url, users)


@pytest.fixture(scope="session")
def bearer_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CheckRegistry]:
    """`reader` may pull team/app, `pusher` pull and push, `stranger` logs in with no grants."""
    users = {name: factories.unique_password(name) for name in ("reader", "pusher", "stranger")}
    grants = {"reader": {REPOSITORY: {"pull"}}, "pusher": {REPOSITORY: {"pull", "push"}}}
    folder: Path = tmp_path_factory.mktemp("check-bearer")
    with (
        running_token_issuer(users, grants) as issuer,
        running_registry(folder, token=issuer.token_auth(folder / "issuer.pem")) as info,
    ):
        token = issuer.issue("pusher", [f"repository:{REPOSITORY}:pull,push"])["token"]
        push_tiny_image(info.url, REPOSITORY, "1.0", authorization=f"Bearer {token}")
        yield CheckRegistry(info.host, info.url, users, issuer)


@pytest.fixture
def app_settings(tmp_path: Path, database_url: str, secret_keys: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        secret_keys=secret_keys,  # type: ignore[arg-type]
        insecure_registries=LOOPBACK,
    )

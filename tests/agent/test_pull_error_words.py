"""What Podman and the Docker Engine really say when a pull fails, and the cause read from it.

The unit tests of `edgedock.pull_errors` (tests/test_pull_errors.py) hold these wordings as
text; this test checks them against the real engines and the real registry, so the mapping
follows the engines when their words change.
"""

from __future__ import annotations

import pytest

from edgedock import pull_errors
from edgedock.agent.engine import Engine
from edgedock.agent.errors import EnginePullFailed
from tests.support.docker_engine import DockerEngineInfo
from tests.support.engine import EngineInfo
from tests.support.fixtures import (
    PrivateImage,
    docker_engine,
    docker_private_image,
    engine,
    private_image,
    registry,
    registry_credentials,
)
from tests.support.registry import x_registry_auth

__all__ = [  # fixtures, for pytest
    "docker_engine",
    "docker_private_image",
    "engine",
    "private_image",
    "registry",
    "registry_credentials",
]

pytestmark = pytest.mark.real_engine


def _refusal(url: str, image: str, auth: str | None) -> str:
    with Engine(url) as client, pytest.raises(EnginePullFailed) as failed:
        client.pull(image, x_registry_auth=auth)
    print(f"{url}: {failed.value}")  # the wording, for whoever updates the table (-s)
    return str(failed.value)


def _cases(image: PrivateImage) -> list[tuple[str, str | None, str]]:
    """(image, X-Registry-Auth, the cause its refusal must map to)."""
    wrong = x_registry_auth(image.username, "not-the-password", image.registry)
    right = x_registry_auth(image.username, image.password, image.registry)
    missing = image.image.rsplit(":", 1)[0] + ":no-such-tag"
    return [
        (image.image, wrong, "wrong_password"),
        (image.image, None, "no_credentials"),
        (missing, right, "not_found"),
    ]


def test_podman_pull_refusals_map_to_their_causes(
    engine: EngineInfo, private_image: PrivateImage
) -> None:
    for image, auth, cause in _cases(private_image):
        found = pull_errors.cause_of(
            _refusal(engine.url, image, auth), used_credentials=auth is not None
        )
        assert found is not None and found.cause == cause, (image, cause, found)


def test_docker_pull_refusals_map_to_their_causes(
    docker_engine: DockerEngineInfo, docker_private_image: PrivateImage
) -> None:
    for image, auth, cause in _cases(docker_private_image):
        found = pull_errors.cause_of(
            _refusal(docker_engine.url, image, auth), used_credentials=auth is not None
        )
        assert found is not None and found.cause == cause, (image, cause, found)

"""Session fixtures for the real registry, the real engine and a private image (a pytest plugin).

Load it with ``pytest_plugins = ["tests.support.fixtures"]`` from the top-level conftest, or by
importing the fixtures into a directory's conftest (pytest refuses ``pytest_plugins`` anywhere
but the top level).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.support.docker_engine import (
    DockerEngineInfo,
    DockerEngineStartFailed,
    build_and_push_test_image_with_docker,
    running_docker_engine,
)
from tests.support.engine import EngineInfo, build_and_push_test_image, running_engine
from tests.support.registry import RegistryInfo, running_registry


@dataclass(frozen=True)
class RegistryCredentials:
    username: str
    password: str


@dataclass(frozen=True)
class PrivateImage:
    image: str  # "localhost:PORT/team/app:1.0", pushed and absent from the engine's store
    registry: str  # "localhost:PORT"
    username: str
    password: str


@pytest.fixture(scope="session")
def registry_credentials() -> RegistryCredentials:
    """The only user the registry accepts; the password holds characters shells and URLs mangle."""
    return RegistryCredentials(username="deployer", password=f"a?b>~{secrets.token_hex(8)}")


@pytest.fixture(scope="session")
def registry(
    tmp_path_factory: pytest.TempPathFactory, registry_credentials: RegistryCredentials
) -> Iterator[RegistryInfo]:
    users = {registry_credentials.username: registry_credentials.password}
    with running_registry(tmp_path_factory.mktemp("registry"), users) as info:
        yield info


@pytest.fixture(scope="session")
def engine(
    tmp_path_factory: pytest.TempPathFactory, registry: RegistryInfo
) -> Iterator[EngineInfo]:
    with running_engine(tmp_path_factory.mktemp("engine"), [registry.host]) as info:
        yield info


@pytest.fixture(scope="session")
def private_image(
    tmp_path_factory: pytest.TempPathFactory,
    registry: RegistryInfo,
    engine: EngineInfo,
    registry_credentials: RegistryCredentials,
) -> PrivateImage:
    image = f"{registry.host}/team/app:1.0"
    build_and_push_test_image(
        engine.env,
        tmp_path_factory.mktemp("image"),
        image,
        registry_credentials.username,
        registry_credentials.password,
    )
    return PrivateImage(
        image=image,
        registry=registry.host,
        username=registry_credentials.username,
        password=registry_credentials.password,
    )


@pytest.fixture(scope="session")
def docker_engine(
    tmp_path_factory: pytest.TempPathFactory, registry: RegistryInfo
) -> Iterator[DockerEngineInfo]:
    """The real Docker Engine beside Podman; skipped, with dockerd's words, only if it cannot run."""
    try:
        context = running_docker_engine(tmp_path_factory.mktemp("docker"), [registry.host])
        info = context.__enter__()
    except DockerEngineStartFailed as exc:
        pytest.skip(f"the Docker Engine cannot start on this machine: {exc}")
    try:
        yield info
    finally:
        context.__exit__(None, None, None)


@pytest.fixture(scope="session")
def docker_private_image(
    tmp_path_factory: pytest.TempPathFactory,
    registry: RegistryInfo,
    docker_engine: DockerEngineInfo,
    registry_credentials: RegistryCredentials,
) -> PrivateImage:
    """Like ``private_image``, pushed by the docker CLI under its own name, absent from dockerd."""
    image = f"{registry.host}/team/docker-app:1.0"
    build_and_push_test_image_with_docker(
        docker_engine.env,
        tmp_path_factory.mktemp("docker-image"),
        image,
        registry_credentials.username,
        registry_credentials.password,
    )
    return PrivateImage(
        image=image,
        registry=registry.host,
        username=registry_credentials.username,
        password=registry_credentials.password,
    )

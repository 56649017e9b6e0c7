"""The real Docker Engine of the test support: it starts, the docker CLI pushes to the test
registry, and a pull through the Engine API needs the registry's credentials."""

from __future__ import annotations

import docker
import httpx
import pytest

from tests.support.docker_engine import DockerEngineInfo, run_docker
from tests.support.fixtures import (
    PrivateImage,
    docker_engine,
    docker_private_image,
    registry,
    registry_credentials,
)
from tests.support.registry import RegistryInfo

__all__ = ["docker_engine", "docker_private_image", "registry", "registry_credentials"]

pytestmark = pytest.mark.real_engine


def test_docker_engine_is_the_real_docker_engine(docker_engine: DockerEngineInfo) -> None:
    transport = httpx.HTTPTransport(uds=str(docker_engine.socket_path))
    with httpx.Client(transport=transport, base_url="http://engine") as client:
        version = client.get("/version").json()
        info = client.get("/info").json()
    components = {component["Name"] for component in version["Components"]}
    assert {"Engine", "containerd", "runc"} <= components  # Podman names "Podman Engine"
    assert version["ApiVersion"] == "1.41"
    assert info["Driver"] == "vfs"
    # The docker CLI of the same package reaches it through DOCKER_HOST alone.
    assert run_docker(docker_engine.env, "info", "--format", "{{.ID}}").strip() == info["ID"]


def test_docker_cli_pushed_the_image_and_a_pull_needs_credentials(
    docker_engine: DockerEngineInfo,
    docker_private_image: PrivateImage,
    registry: RegistryInfo,
) -> None:
    repository, tag = docker_private_image.image.split("/", 1)[1].rsplit(":", 1)
    manifest = httpx.get(
        f"{registry.url}/v2/{repository}/manifests/{tag}",
        auth=(docker_private_image.username, docker_private_image.password),
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
    )
    assert manifest.status_code == 200
    assert run_docker(docker_engine.env, "images", "--quiet", docker_private_image.image) == ""

    client = docker.DockerClient(base_url=docker_engine.url)
    try:
        with pytest.raises(docker.errors.APIError, match="no basic auth credentials"):
            client.images.pull(docker_private_image.image)
        client.images.pull(
            docker_private_image.image,
            auth_config={
                "username": docker_private_image.username,
                "password": docker_private_image.password,
            },
        )
        assert client.images.get(docker_private_image.image).attrs["Config"]["Cmd"][0] == "/bin/sh"
    finally:
        client.images.remove(docker_private_image.image, force=True)
        client.close()

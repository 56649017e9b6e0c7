"""Warnings returned with a release: allowed, but probably not what the operator wants."""

from __future__ import annotations

from tests import factories


async def _codes(api, containers):
    app = await factories.application(api)
    body = await factories.release(api, app["id"], containers=containers)
    got = (await api.get(f"/api/v1/releases/{body['id']}")).json()
    assert got["warnings"] == body["warnings"]  # derived again on every read, identically
    return body["warnings"]


async def test_one_credentials_for_two_registries_warns(api):
    creds = await factories.credentials(api, label="shared")
    warnings = await _codes(
        api,
        [
            factories.container("a", "ghcr.io/acme/a:1", image_credentials_id=creds["id"]),
            factories.container("b", "acme/b:1", image_credentials_id=creds["id"]),
            factories.container(
                "c", "registry.example.com:5000/c", image_credentials_id=creds["id"]
            ),
        ],
    )
    (warning,) = warnings
    assert warning["code"] == "credentials_multiple_registries"
    assert warning["credentials_id"] == creds["id"]
    assert warning["containers"] == ["a", "b", "c"]
    for registry in ("ghcr.io", "docker.io", "registry.example.com:5000", "'shared'"):
        assert registry in warning["message"]


async def test_one_credentials_for_one_registry_does_not_warn(api):
    creds = await factories.credentials(api)
    warnings = await _codes(
        api,
        [
            factories.container("a", "ghcr.io/acme/a:1", image_credentials_id=creds["id"]),
            factories.container(
                "b", "ghcr.io/acme/b@sha256:" + "a" * 64, image_credentials_id=creds["id"]
            ),
            factories.container("c", "quay.io/other/c"),
        ],
    )
    assert warnings == []


async def test_docker_hub_spellings_count_as_one_registry(api):
    creds = await factories.credentials(api)
    warnings = await _codes(
        api,
        [
            factories.container("a", "nginx", image_credentials_id=creds["id"]),
            factories.container("b", "docker.io/acme/b", image_credentials_id=creds["id"]),
            factories.container("c", "index.docker.io/acme/c", image_credentials_id=creds["id"]),
        ],
    )
    assert warnings == []


async def test_two_credentials_each_for_its_registry_do_not_warn(api):
    hub = await factories.credentials(api)
    ghcr = await factories.credentials(api)
    warnings = await _codes(
        api,
        [
            factories.container("a", "acme/a", image_credentials_id=hub["id"]),
            factories.container("b", "ghcr.io/acme/b", image_credentials_id=ghcr["id"]),
        ],
    )
    assert warnings == []


async def test_same_host_port_in_two_containers_warns(api):
    warnings = await _codes(
        api,
        [
            factories.container("a", port_bindings=["8080:80"]),
            factories.container("b", port_bindings=["0.0.0.0:8080:8080"]),
            factories.container("c", port_bindings=["8080:80/udp", "127.0.0.1::80"]),
        ],
    )
    (warning,) = warnings
    assert warning["code"] == "host_port_conflict"
    assert warning["containers"] == ["a", "b"]
    assert "8080/tcp" in warning["message"]


async def test_same_host_port_on_different_addresses_does_not_warn(api):
    warnings = await _codes(
        api,
        [
            factories.container("a", port_bindings=["127.0.0.1:8080:80"]),
            factories.container("b", port_bindings=["10.0.0.2:8080:80"]),
        ],
    )
    assert warnings == []

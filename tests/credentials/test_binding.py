"""Credentials bound to a registry: given at creation, normalized, enforced on every release."""

from __future__ import annotations

import pytest

from tests import factories

URL = "/api/v1/image-credentials"


async def _bound(api, registry: str | None) -> dict:
    response = await api.post(
        URL,
        json={
            "label": f"bound-{registry}",
            "username": "robot",
            "password": factories.unique_password(),
            "registry": registry,
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("ghcr.io", "ghcr.io"),
        ("GHCR.IO", "ghcr.io"),
        ("  localhost:5055 ", "localhost:5055"),
        ("https://index.docker.io/v1/", "docker.io"),
        ("index.docker.io", "docker.io"),
        ("registry-1.docker.io", "docker.io"),
        ("docker.io", "docker.io"),
        ("https://registry.example.com:5000/v2/", "registry.example.com:5000"),
        ("", None),
        (None, None),
    ],
)
async def test_registry_is_normalized_as_engines_write_it(api, given, stored):
    created = await _bound(api, given)
    assert created["registry"] == stored
    assert (await api.get(f"{URL}/{created['id']}")).json()["registry"] == stored
    (listed,) = (await api.get(URL)).json()["items"]
    assert listed["registry"] == stored


@pytest.mark.parametrize("bad", ["not a host!", "ghcr.io:port", "a" * 256, "-bad-.io"])
async def test_a_bad_registry_is_a_422_on_the_field(api, bad):
    response = await api.post(
        URL, json={"label": "x", "username": "u", "password": "p", "registry": bad}
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == "registry"
    assert (await api.get(URL)).json()["items"] == []


async def _release(api, containers):
    app = await factories.application(api)
    url = f"/api/v1/applications/{app['id']}/releases"
    response = await api.post(url, json={"version": "1.0.0", "containers": containers})
    return app, response


async def test_bound_credentials_are_refused_for_an_image_on_another_registry(api):
    creds = await _bound(api, "ghcr.io")
    app, response = await _release(
        api,
        [
            factories.container("ok", "ghcr.io/acme/ok:1", image_credentials_id=creds["id"]),
            factories.container(
                "web", "ghcr.io.evil.example/acme/web:1", image_credentials_id=creds["id"]
            ),
        ],
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "credentials_registry_mismatch"
    assert error["field"] == "containers[1].image"
    assert (
        "ghcr.io.evil.example" in error["message"]
        and "bound to registry ghcr.io" in error["message"]
    )
    assert creds["label"] in error["message"] and creds["id"] in error["message"]
    # Nothing written: no release, no reference, no audit event of one.
    releases = (await api.get(f"/api/v1/applications/{app['id']}/releases")).json()
    assert releases["items"] == []
    assert (await api.get(f"{URL}/{creds['id']}")).json()["used_by"] == []
    events = (await api.get("/api/v1/audit-events", params={"action": "releases.created"})).json()
    assert events["items"] == []


async def test_bound_credentials_are_accepted_for_their_own_registry(api):
    creds = await _bound(api, "GHCR.io")
    _, response = await _release(
        api,
        [
            factories.container("a", "ghcr.io/acme/a:1", image_credentials_id=creds["id"]),
            factories.container("b", "ghcr.io/acme/b:2", image_credentials_id=creds["id"]),
            factories.container("c", "quay.io/public/c:1"),  # no credentials: no binding
        ],
    )
    assert response.status_code == 201, response.text
    assert response.json()["warnings"] == []


@pytest.mark.parametrize(
    "image", ["debian:12", "library/debian:12", "docker.io/acme/x", "index.docker.io/acme/x"]
)
async def test_a_docker_io_binding_accepts_docker_hub_images(api, image):
    creds = await _bound(api, "docker.io")
    _, response = await _release(
        api, [factories.container("a", image, image_credentials_id=creds["id"])]
    )
    assert response.status_code == 201, response.text


async def test_a_docker_io_binding_refuses_another_registry(api):
    creds = await _bound(api, "https://index.docker.io/v1/")
    _, response = await _release(
        api, [factories.container("a", "quay.io/debian:12", image_credentials_id=creds["id"])]
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "containers[0].image"
    assert "quay.io" in response.json()["error"]["message"]
    assert "docker.io" in response.json()["error"]["message"]


async def test_unbound_credentials_keep_the_several_registries_warning(api):
    creds = await _bound(api, None)
    _, response = await _release(
        api,
        [
            factories.container("a", "ghcr.io/acme/a:1", image_credentials_id=creds["id"]),
            factories.container("b", "acme/b:1", image_credentials_id=creds["id"]),
        ],
    )
    assert response.status_code == 201, response.text
    (warning,) = response.json()["warnings"]
    assert warning["code"] == "credentials_multiple_registries"

"""`edgedock keys rotate` and `keys retire` while a server keeps serving registry auth."""

from __future__ import annotations

import subprocess

from tests import factories
from tests.conftest import create_database, drop_database
from tests.support.live_server import EDGEDOCK, running_server, server_env


def _admin(env, *args):
    return subprocess.run([EDGEDOCK, *args], env=env, capture_output=True, text=True, timeout=60)


def test_rotation_while_serving_keeps_registry_auth_working(tmp_path):
    url = create_database("sqlite", tmp_path)
    env = server_env(tmp_path, url)
    del env["EDGEDOCK_SECRET_KEYS"]  # the key file in the data dir is the keyring
    assert _admin(env, "keys", "init").returncode == 0
    password = factories.unique_password()
    try:
        with running_server(tmp_path, url, env=env) as server, server.api() as api:
            creds = api.post(
                "/api/v1/image-credentials",
                json={"label": "rotated", "username": "u", "password": password},
            ).json()
            app = api.post("/api/v1/applications", json={"name": "rot"}).json()
            release = api.post(
                f"/api/v1/applications/{app['id']}/releases",
                json={
                    "version": "1.0.0",
                    "containers": [
                        factories.container(
                            "app", "registry.example.com/app:1", image_credentials_id=creds["id"]
                        )
                    ],
                },
            ).json()
            device = api.post("/api/v1/devices", json={"name": "gw"}).json()
            deployment = api.post(
                "/api/v1/deployments", json={"release_id": release["id"], "device_id": device["id"]}
            ).json()
            ask = {
                "deployment_id": deployment["id"],
                "container_id": release["containers"][0]["id"],
            }
            with server.api(device["token"]) as agent:
                before = agent.post("/device/v1/registry-auth", json=ask).json()["x_registry_auth"]

                rotated = _admin(env, "keys", "rotate")
                assert rotated.returncode == 0, rotated.stderr
                assert "with key k2" in rotated.stderr
                retire_current = _admin(env, "keys", "retire", "k2")
                assert retire_current.returncode == 1 and "current key" in retire_current.stderr

                # The server never loaded k2; it meets it, reloads, and keeps answering.
                after = agent.post("/device/v1/registry-auth", json=ask)
                assert after.status_code == 200 and after.json()["x_registry_auth"] == before

                retired = _admin(env, "keys", "retire", "k1")
                assert retired.returncode == 0, retired.stderr
                assert (
                    agent.post("/device/v1/registry-auth", json=ask).json()["x_registry_auth"]
                    == before
                )
            fresh = api.post(
                "/api/v1/image-credentials",
                json={"label": "after", "username": "u", "password": password},
            )
            assert fresh.status_code == 201
            assert fresh.json()["fingerprint"] == creds["fingerprint"]
        assert "k1:" not in (tmp_path / "data" / "secret-keys").read_text()
    finally:
        drop_database(url)


def test_serve_refuses_to_start_without_the_key(tmp_path):
    url = create_database("sqlite", tmp_path)
    env = server_env(tmp_path, url)
    assert _admin(env, "tenants", "create", "acme").returncode == 0
    env["EDGEDOCK_SECRET_KEYS"] = server_env(tmp_path, url)["EDGEDOCK_SECRET_KEYS"].replace(
        "k1:", "k2:"
    )
    started = subprocess.run(
        [EDGEDOCK, "serve"],
        env={**env, "EDGEDOCK_PORT": "9"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode == 1
    assert "error: secret key 'k1'" in started.stderr and "Traceback" not in started.stderr

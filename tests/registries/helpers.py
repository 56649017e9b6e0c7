"""Shared steps for brokered-registry tests: a registry, a brokered release, token requests."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from edgedock import registry_auth
from tests import factories
from tests.deployments import fleet

HOST = "localhost:5055"


async def registry(api: httpx.AsyncClient, host: str = HOST, **extra: Any) -> dict[str, Any]:
    response = await api.post("/api/v1/registries", json={"host": host, **extra})
    assert response.status_code == 201, response.text
    return dict(response.json())


async def brokered_deployment(
    api: httpx.AsyncClient, *, image: str = f"{HOST}/team/app:1.0", device_name: str = "gw-1"
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A release with one brokered container (no credentials), deployed to a new device."""
    application = await factories.application(api)
    release = await factories.release(
        api, application["id"], containers=[factories.container("app", image)]
    )
    device = await fleet.device(api, device_name)
    deployment = await fleet.deploy(api, release["id"], device["id"])
    return release, device, deployment


async def pull_secret(
    app: Any, device: dict[str, Any], deployment: dict[str, Any], release: dict[str, Any]
) -> dict[str, str]:
    container = release["containers"][0]
    async with fleet.device_client(app, device["token"]) as agent:
        response = await agent.post(
            "/device/v1/registry-auth",
            json={"deployment_id": deployment["id"], "container_id": container["id"]},
        )
    assert response.status_code == 200, response.text
    return registry_auth.decode(response.json()["x_registry_auth"])


def basic(username: str, secret: str) -> dict[str, str]:
    value = base64.b64encode(f"{username}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {value}"}


def token_path(registry_row: dict[str, Any]) -> str:
    return httpx.URL(registry_row["realm"]).path


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def verify(token: str, bundle_pem: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of `token`, once its x5c certificate is in the bundle and signs it."""
    head, body, signature = token.split(".")
    header = json.loads(_unb64(head))
    leaf = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
    trusted = {
        c.fingerprint(hashes.SHA256()) for c in x509.load_pem_x509_certificates(bundle_pem.encode())
    }
    assert leaf.fingerprint(hashes.SHA256()) in trusted, "signing certificate not in the bundle"
    raw = _unb64(signature)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public_key = leaf.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    public_key.verify(der, f"{head}.{body}".encode(), ec.ECDSA(hashes.SHA256()))
    return header, json.loads(_unb64(body))

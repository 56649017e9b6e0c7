"""Setting a fleet up through the servers' own APIs: devices, credentials, a release, a deployment.

Nothing is written behind edgedock's back: devices are registered with concurrent
`POST /api/v1/devices` under the tenant's admin token (there is no bulk registration), and the
deployment goes through `POST /api/v1/deployments/bulk`, as many requests as its `device_ids`
limit needs, one after the other.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

from benchmarks.devices import Device


@dataclass
class Deployed:
    committed: dict[str, float]  # device id -> when the request that deployed it was answered
    seconds: float  # first bulk request sent -> last one answered
    requests: int
    auth_bodies: dict[str, str]  # device id -> its registry-auth request body
    started: float = 0.0  # when the first deploy request was sent


def bulk_limit() -> int:
    """`POST /api/v1/deployments/bulk` takes at most this many device ids (from the schema)."""
    from annotated_types import MaxLen

    from edgedock.deployments.schemas import DeploymentCreateMany

    for rule in DeploymentCreateMany.model_fields["device_ids"].metadata:
        if isinstance(rule, MaxLen):
            return int(rule.max_length)
    return 1_000_000


async def _post(session: aiohttp.ClientSession, url: str, body: Any, token: str) -> Any:
    headers = {"Authorization": f"Bearer {token}"}
    async with session.post(url, json=body, headers=headers) as answer:
        text = await answer.text()
        if answer.status not in (200, 201):
            raise RuntimeError(f"POST {url} answered {answer.status}: {text[:300]}")
        return json.loads(text)


@dataclass
class EdgedockFleet:
    """A tenant on one edgedock database; `urls` are its replicas, devices spread over them."""

    urls: list[str]
    admin_token: str
    planted: str
    release_id: str = ""
    container_id: str = ""

    async def register(self, count: int, concurrency: int = 32) -> list[Device]:
        api = self.urls[0]
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600)) as session:
            application = await _post(
                session, f"{api}/api/v1/applications", {"name": "fleet-app"}, self.admin_token
            )
            credentials = await _post(
                session,
                f"{api}/api/v1/image-credentials",
                {"label": "fleet", "username": "robot", "password": self.planted},
                self.admin_token,
            )
            container = {
                "name": "app",
                "image": "registry.example.com/fleet/app:1",
                "image_credentials_id": credentials["id"],
            }
            release = await _post(
                session,
                f"{api}/api/v1/applications/{application['id']}/releases",
                {"version": "1.0.0", "containers": [container]},
                self.admin_token,
            )
            self.release_id = release["id"]
            self.container_id = release["containers"][0]["id"]
            gate = asyncio.Semaphore(concurrency)

            async def one(i: int) -> Device:
                async with gate:
                    body = {"name": f"device-{i:05d}"}
                    made = await _post(session, f"{api}/api/v1/devices", body, self.admin_token)
                return Device(made["id"], made["token"], self.urls[i % len(self.urls)])

            return list(await asyncio.gather(*(one(i) for i in range(count))))

    async def deploy(self, devices: list[Device]) -> Deployed:
        """The release to every device, on the first replica, in bulk requests of the limit."""
        size, api = bulk_limit(), self.urls[0]
        ids = [d.id for d in devices]
        committed: dict[str, float] = {}
        bodies: dict[str, str] = {}
        started = time.monotonic()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600)) as session:
            for at in range(0, len(ids), size):
                chunk = ids[at : at + size]
                body = {"release_id": self.release_id, "device_ids": chunk}
                made = await _post(
                    session, f"{api}/api/v1/deployments/bulk", body, self.admin_token
                )
                answered = time.monotonic()
                for item in made["items"]:
                    committed[item["device_id"]] = answered
                    bodies[item["device_id"]] = json.dumps(
                        {"deployment_id": item["id"], "container_id": self.container_id}
                    )
        requests = -(-len(ids) // size)
        return Deployed(committed, time.monotonic() - started, requests, bodies, started)


@dataclass
class FloorFleet:
    """The floor's control endpoints, shaped like `EdgedockFleet`."""

    url: str

    async def register(self, count: int) -> list[Device]:
        async with aiohttp.ClientSession() as session:
            made = await _post(session, f"{self.url}/floor/v1/devices", {"count": count}, "-")
        return [Device(d["id"], d["token"], self.url) for d in made]

    async def deploy(self, devices: list[Device]) -> Deployed:
        started = time.monotonic()
        async with aiohttp.ClientSession() as session:
            made = await _post(session, f"{self.url}/floor/v1/deploy", {}, "-")
        answered = time.monotonic()
        committed = {item["device_id"]: answered for item in made["items"]}
        bodies = {
            item["device_id"]: json.dumps(
                {"deployment_id": item["id"], "container_id": made["container_id"]}
            )
            for item in made["items"]
        }
        return Deployed(committed, answered - started, 1, bodies, started)

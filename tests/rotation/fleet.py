"""A small fleet for replace tests: two applications, releases on old credentials, devices."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from edgedock.db import Database
from tests import factories

CREDS = "/api/v1/image-credentials"


@dataclass
class Fleet:
    old: dict[str, Any]
    new: dict[str, Any]
    shop: dict[str, Any]
    shop_142: dict[str, Any]  # deployed on gw-1 and gw-2, not the highest
    shop_150: dict[str, Any]  # the highest, deployed nowhere
    other_200: dict[str, Any]  # history: neither deployed nor the highest of `Other`
    deployments: list[Any]


def shop_containers(credentials_id: str, tag: str) -> list[dict[str, Any]]:
    return [
        factories.container(
            "web",
            f"ghcr.io/acme/web:{tag}",
            image_credentials_id=credentials_id,
            env={"MODE": "prod"},
            port_bindings=["8080:80"],
            restart_policy="always",
        ),
        factories.container("cache", "redis:7"),
    ]


async def fleet(
    api: httpx.AsyncClient, database: Database, tenant_id: Any, *, prefix: str = ""
) -> Fleet:
    old = await factories.credentials(api, label=f"{prefix}old", username="robot-old")
    new = await factories.credentials(api, label=f"{prefix}new", username="robot-new")
    shop = await factories.application(api, name=f"{prefix}Shop")
    shop_142 = await factories.release(
        api, shop["id"], version="1.4.2", containers=shop_containers(old["id"], "1.4")
    )
    shop_150 = await factories.release(
        api, shop["id"], version="1.5.0", containers=shop_containers(old["id"], "1.5")
    )
    other = await factories.application(api, name=f"{prefix}Other")
    other_200 = await factories.release(
        api,
        other["id"],
        version="2.0.0",
        containers=[
            factories.container("job", "ghcr.io/acme/job:2", image_credentials_id=old["id"])
        ],
    )
    await factories.release(api, other["id"], version="2.1.0")
    deployments = [
        await factories.deployment_row(
            database, tenant_id=tenant_id, release_id=shop_142["id"], device=f"{prefix}gw-{i}"
        )
        for i in (1, 2)
    ]
    return Fleet(old, new, shop, shop_142, shop_150, other_200, deployments)


async def replace(api: httpx.AsyncClient, old_id: str, **body: Any) -> httpx.Response:
    return await api.post(f"{CREDS}/{old_id}/replace", json=body)

"""Fleet benchmark: N devices long-poll one server; a release is deployed to all of them.

Prints how long each device took to see its deployment (p50, p99, max, from the moment its
deployment was committed) and the throughput of `POST /device/v1/registry-auth` next to a no-op
authenticated endpoint of the same server (`GET /device/v1/ping`) measured in the same run, so
the ratio, not the absolute figure, is what to compare between machines.

    .venv/bin/python -m benchmarks.fleet [--devices 1000] [--backend sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from tests.conftest import create_database, drop_database
from tests.support.live_server import running_server


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _make_fleet(client: httpx.AsyncClient, n: int) -> tuple[str, str, list[dict]]:
    app = (await client.post("/api/v1/applications", json={"name": "fleet-app"})).json()
    creds = (
        await client.post(
            "/api/v1/image-credentials",
            json={"label": "fleet", "username": "robot", "password": "a?b>~fleet"},
        )
    ).json()
    release = (
        await client.post(
            f"/api/v1/applications/{app['id']}/releases",
            json={
                "version": "1.0.0",
                "containers": [
                    {
                        "name": "app",
                        "image": "registry.example.com/app:1",
                        "image_credentials_id": creds["id"],
                    }
                ],
            },
        )
    ).json()
    sem = asyncio.Semaphore(20)

    async def one(i: int) -> dict:
        async with sem:
            return (await client.post("/api/v1/devices", json={"name": f"device-{i:05d}"})).json()

    devices = await asyncio.gather(*(one(i) for i in range(n)))
    return release["id"], release["containers"][0]["id"], devices


async def _watch(
    client: httpx.AsyncClient, token: str, ready: asyncio.Event, ready_count: list[int], n: int
) -> float:
    """Long-poll until a deployment shows up; returns the monotonic time it was seen."""
    headers = {"Authorization": f"Bearer {token}"}
    first = await client.get("/device/v1/desired-state", headers=headers)
    etag = first.headers["etag"]
    ready_count[0] += 1
    if ready_count[0] == n:
        ready.set()
    while True:
        response = await client.get(
            "/device/v1/desired-state",
            params={"wait": 60},
            headers={**headers, "If-None-Match": etag},
            timeout=90,
        )
        if response.status_code == 200 and response.json()["deployments"]:
            return time.monotonic()
        etag = response.headers.get("etag", etag)


async def _throughput(client: httpx.AsyncClient, request, count: int, concurrency: int) -> float:
    sem = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with sem:
            response = await request()
            assert response.status_code in (200, 204), response.text

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(count)))
    return count / (time.perf_counter() - started)


async def run(url: str, token: str, n: int, requests: int, one_by_one: bool) -> None:
    limits = httpx.Limits(max_connections=n + 50, max_keepalive_connections=n + 50)
    async with httpx.AsyncClient(
        base_url=url, limits=limits, timeout=120, headers={"Authorization": f"Bearer {token}"}
    ) as api:
        t = time.perf_counter()
        release_id, container_id, devices = await _make_fleet(api, n)
        print(f"registered {n} devices in {time.perf_counter() - t:.1f}s")
        ready, ready_count = asyncio.Event(), [0]
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as fleet:
            watchers = [
                asyncio.create_task(_watch(fleet, d["token"], ready, ready_count, n))
                for d in devices
            ]
            await asyncio.wait_for(ready.wait(), timeout=300)
            await asyncio.sleep(0.5)  # every device is now parked in its long poll
            committed: dict[str, float] = {}
            deploy_started = time.monotonic()
            if one_by_one:
                sem = asyncio.Semaphore(10)

                async def deploy(device: dict) -> dict:
                    async with sem:
                        response = await api.post(
                            "/api/v1/deployments",
                            json={"release_id": release_id, "device_id": device["id"]},
                        )
                        committed[device["id"]] = time.monotonic()
                        return response.json()

                deployments = await asyncio.gather(*(deploy(d) for d in devices))
            else:
                response = await api.post(
                    "/api/v1/deployments/bulk",
                    json={"release_id": release_id, "device_ids": [d["id"] for d in devices]},
                )
                assert response.status_code == 201, response.text
                done = time.monotonic()  # committed before the answer left the server
                committed = {d["id"]: done for d in devices}
                deployments = response.json()["items"]
            seen = await asyncio.wait_for(asyncio.gather(*watchers), timeout=600)
        latencies = [seen_at - committed[d["id"]] for d, seen_at in zip(devices, seen, strict=True)]
        print(
            f"deployed to {n} devices in {max(committed.values()) - deploy_started:.2f}s; "
            f"all seen {max(seen) - deploy_started:.2f}s after the first deploy began"
        )
        print(
            "time from deployment committed to device seeing it: "
            f"p50 {statistics.median(latencies) * 1000:.0f} ms, "
            f"p99 {percentile(latencies, 0.99) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms"
        )

        device = devices[0]
        dev_headers = {"Authorization": f"Bearer {device['token']}"}
        body = {"deployment_id": deployments[0]["id"], "container_id": container_id}
        async with httpx.AsyncClient(base_url=url, timeout=60, headers=dev_headers) as agent:
            await agent.get("/device/v1/ping")
            ping_rps = await _throughput(agent, lambda: agent.get("/device/v1/ping"), requests, 16)
            auth_rps = await _throughput(
                agent, lambda: agent.post("/device/v1/registry-auth", json=body), requests, 16
            )
        print(f"no-op authenticated endpoint (ping): {ping_rps:.0f} req/s")
        print(f"registry-auth (decrypt + encode + audit): {auth_rps:.0f} req/s")
        print(f"registry-auth / ping throughput ratio: {auth_rps / ping_rps:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--one-by-one",
        action="store_true",
        help="one POST /deployments per device instead of one POST /deployments/bulk",
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="edgedock-fleet-"))
    url = create_database(args.backend, folder)
    env_overrides = {"EDGEDOCK_LOG_LEVEL": "WARNING"}
    try:
        from tests.support.live_server import server_env

        env = {**server_env(folder, url), **env_overrides}
        with running_server(folder, url, env=env) as server:
            how = "one request per device" if args.one_by_one else "one bulk request"
            print(f"edgedock fleet benchmark: {args.devices} devices, {args.backend}, {how}")
            asyncio.run(
                run(server.url, server.admin_token, args.devices, args.requests, args.one_by_one)
            )
    finally:
        drop_database(url)


if __name__ == "__main__":
    main()

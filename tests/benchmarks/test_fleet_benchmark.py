"""The fleet benchmark's own pieces: they import without the test suite, and the floor works.

The benchmark's figures are timings and live in `benchmarks/fleet.py`; these tests only check
behaviour: that the floor app answers a device's poll / 304 / deploy cycle the way edgedock's
device API does, and that the report judges the targets the right way round.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import httpx

from benchmarks import floor, report

ROOT = Path(__file__).resolve().parents[2]
MODULES = ["fleet", "floor", "devices", "servers", "provision", "report"]


def test_benchmark_modules_import_without_the_test_suite():
    imports = "; ".join(f"import benchmarks.{m}" for m in MODULES)
    check = "import sys; bad = [m for m in sys.modules if m == 'tests' or m.startswith('tests.')]"
    code = f"{imports}; {check}; print(bad); sys.exit(1 if bad else 0)"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


async def _parked(app: floor.FloorApp) -> None:
    while not any(device.waiters for device in app.by_token.values()):
        await asyncio.sleep(0)


async def test_floor_answers_poll_304_and_deploy_cycle():
    app = floor.FloorApp()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://floor") as client:
        [device] = (await client.post("/floor/v1/devices", json={"count": 1})).json()
        auth = {"Authorization": f"Bearer {device['token']}"}
        assert (await client.get("/device/v1/ping", headers=auth)).status_code == 204
        assert (await client.get("/device/v1/ping")).status_code == 401

        first = await client.get("/device/v1/desired-state", headers=auth)
        assert first.status_code == 200
        assert first.json()["deployments"] == []
        etag = first.headers["etag"]
        same = {**auth, "If-None-Match": etag}
        unchanged = await client.get("/device/v1/desired-state", headers=same)
        assert (unchanged.status_code, unchanged.headers["etag"]) == (304, etag)

        poll = asyncio.create_task(
            client.get("/device/v1/desired-state", params={"wait": 30}, headers=same)
        )
        await asyncio.wait_for(_parked(app), timeout=10)
        deployed = (await client.post("/floor/v1/deploy")).json()
        woken = await asyncio.wait_for(poll, timeout=10)
        assert woken.status_code == 200
        assert woken.headers["etag"] != etag
        [item] = deployed["items"]
        assert item["device_id"] == device["id"]
        assert [d["id"] for d in woken.json()["deployments"]] == [item["id"]]

        body = {"deployment_id": item["id"], "container_id": deployed["container_id"]}
        auth_answer = await client.post("/device/v1/registry-auth", json=body, headers=auth)
        assert auth_answer.status_code == 200
        assert auth_answer.headers["cache-control"] == "no-store"


def test_report_targets_judge_each_figure_against_the_floor():
    base = report.Result("floor", 10, fanout=[0.1, 0.2], idle_cpu=1.0, idle_polls=1000)
    base.ping, base.registry_auth, base.commit_seconds = 1000.0, 900.0, 0.01
    base.rss_before, base.rss_parked = 0, 10 * 1024
    slow = report.Result("sqlite", 10, fanout=[1.0, 2.0], idle_cpu=1.0, idle_polls=1000)
    slow.ping, slow.registry_auth, slow.commit_seconds = 600.0, 100.0, 4.0
    slow.rss_before, slow.rss_parked = 0, 15 * 1024
    lines = report.targets([base, slow]).splitlines()[1:]
    verdicts = {line.split(":")[0].strip(): line.split(": ", 1)[1] for line in lines}
    assert verdicts["fan-out p99 ≤ 2x floor"] == "sqlite MISS 10.00x"
    assert verdicts["CPU per idle poll ≤ 2x floor"] == "sqlite PASS 1.00x"
    assert verdicts["`ping` ≥ 0.5x floor"] == "sqlite PASS 0.60x"
    assert verdicts["`registry-auth` ≥ 0.25x floor `ping`"] == "sqlite MISS 0.10x floor ping"
    assert verdicts["commit ≤ 3 s"] == "sqlite MISS 4.00 s"
    assert verdicts["memory per device ≤ 2x floor"] == "sqlite PASS 1.50x"
    assert "sqlite" in report.table([base, slow])

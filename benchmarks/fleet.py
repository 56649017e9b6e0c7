"""The fleet benchmark: N simulated devices on the floor and on edgedock, figures side by side.

For each configuration (the floor app; edgedock on SQLite; on PostgreSQL; two edgedock
replicas on one PostgreSQL with the devices split between them and the deployment made on the
first) it registers N devices, parks them all in their long polls, deploys one release to all
of them, then lets them re-poll idly, then measures `ping` and `registry-auth`. It prints one
table, each figure beside the floor's and the ratio, and the targets of issue 8.

    .venv/bin/python -m benchmarks.fleet                       # 10,000 devices, all four
    .venv/bin/python -m benchmarks.fleet --devices 1000 --quick --backends floor,sqlite
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks import report
from benchmarks.devices import ClientPool, Device
from benchmarks.provision import Deployed, EdgedockFleet, FloorFleet
from benchmarks.servers import (
    Server,
    cpu_seconds,
    create_database,
    create_tenant,
    drop_database,
    edgedock_server,
    floor_server,
    raise_nofile,
    rss_bytes,
    server_env,
    wait_until_quiet,
)

BACKENDS = ["floor", "sqlite", "postgresql", "replicas"]


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def _sum(values: Sequence[dict[str, int]], key: str) -> int:
    return sum(v[key] for v in values)


def _throughput(pool: ClientPool, kind: str, args: argparse.Namespace) -> tuple[float, int]:
    k = len(pool.conns)
    done = pool.call(
        "throughput",
        kind=kind,
        count=args.requests // k,
        concurrency=max(1, args.concurrency // k),
        limit=args.throughput_limit,
    )
    elapsed = max(d["elapsed"] for d in done)
    return sum(d["done"] for d in done) / elapsed, sum(d["errors"] for d in done)


def _not_modified(pool: ClientPool) -> int:
    return _sum(pool.call("idle_count"), "not_modified")


def _until_rearmed(pool: ClientPool, target: int, least: float, limit: float) -> None:
    """Waits until `target` 304s have been counted and `least` s passed (at most `limit` s).

    Under a saturated server a re-poll queues for longer than its wait; counting a whole round
    of re-arms makes the window a steady state rather than the start of a queue.
    """
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if time.monotonic() - started >= least and _not_modified(pool) >= target:
            return
        time.sleep(0.25)


def _park(
    pool: ClientPool, pids: list[int], result: report.Result, args: argparse.Namespace
) -> None:
    wait_until_quiet(pids, limit=30)
    result.rss_before = rss_bytes(pids)
    pool.call("connect", concurrency=max(1, args.connect_concurrency // args.clients))
    sent = sum(pool.call("park", wait=args.park_wait, limit=300))
    quiet = wait_until_quiet(pids, limit=args.settle)
    result.rss_parked = rss_bytes(pids)
    if not quiet:
        result.notes.append("server still busy when memory was read (parked polls re-arming)")
    say(f"{result.name}: {sent} long polls sent, server {'quiet' if quiet else 'still busy'}")


def _fanout(
    pool: ClientPool,
    fleet: EdgedockFleet | FloorFleet,
    devices: list[Device],
    result: report.Result,
    args: argparse.Namespace,
) -> Deployed:
    deployed = asyncio.run(fleet.deploy(devices))
    result.commit_seconds, result.commit_requests = deployed.seconds, deployed.requests
    say(f"{result.name}: committed in {deployed.seconds:.2f} s ({deployed.requests} requests)")
    seen = pool.call("seen", limit=args.fanout_limit)
    for share in seen:
        result.fanout += [at - deployed.committed[d] for d, at in share["seen"].items()]
        result.last_seen = max(
            [result.last_seen, *(at - deployed.started for at in share["seen"].values())]
        )
    failed, leaks = _sum(seen, "failed"), _sum(seen, "leaks")
    if failed:
        result.notes.append(f"{failed} devices never saw the deployment")
    if leaks:
        result.notes.append(f"THE PLANTED PASSWORD WAS IN {leaks} DESIRED STATES")
    say(f"{result.name}: fan-out p99 {result.p(0.99) * 1000:.0f} ms, {failed} missed")
    return deployed


def _idle(
    pool: ClientPool, pids: list[int], result: report.Result, args: argparse.Namespace
) -> None:
    pool.call("idle_start", wait=args.idle_wait)
    _until_rearmed(pool, args.devices, args.warmup, args.idle_limit)
    before, cpu_before, started = pool.call("idle_count"), cpu_seconds(pids), time.monotonic()
    _until_rearmed(pool, _sum(before, "not_modified") + args.devices, args.window, args.idle_limit)
    after, cpu_after = pool.call("idle_count"), cpu_seconds(pids)
    seconds = time.monotonic() - started
    result.idle_cpu = cpu_after - cpu_before
    result.idle_polls = _sum(after, "not_modified") - _sum(before, "not_modified")
    if (other := _sum(after, "other") - _sum(before, "other")) > 0:
        result.notes.append(f"{other} idle polls answered 200 instead of 304")
    result.notes.append(f"{result.idle_polls:,} idle 304s in {seconds:.0f} s")
    cut = _sum(pool.call("idle_stop", limit=args.idle_wait + 120), "cut")
    say(f"{result.name}: {result.idle_polls} idle 304s in {seconds:.1f} s, {cut} polls cut")


def _throughputs(
    pool: ClientPool, deployed: Deployed, result: report.Result, args: argparse.Namespace
) -> None:
    shares = [{"bodies": {d.id: deployed.auth_bodies[d.id] for d in s}} for s in pool.shares]
    pool.call("auth_bodies", per_process=shares)
    result.ping, ping_errors = _throughput(pool, "ping", args)
    result.registry_auth, auth_errors = _throughput(pool, "registry-auth", args)
    result.status, status_errors = _throughput(pool, "status", args)
    if ping_errors or auth_errors or status_errors:
        result.notes.append(
            f"failed requests: {ping_errors} ping, {auth_errors} auth, {status_errors} status"
        )
    say(
        f"{result.name}: ping {result.ping:.0f} req/s, registry-auth {result.registry_auth:.0f}, "
        f"status {result.status:.0f}"
    )


def measure(
    name: str, fleet: EdgedockFleet | FloorFleet, servers: list[Server], args: argparse.Namespace
) -> report.Result:
    """Registers the fleet, then: parked memory, fan-out, idle CPU, throughput, in that order."""
    pids = [s.pid for s in servers]
    result = report.Result(name, args.devices)
    started = time.monotonic()
    devices = asyncio.run(fleet.register(args.devices))
    result.register_seconds = time.monotonic() - started
    say(f"{name}: registered {len(devices)} devices in {result.register_seconds:.1f} s")
    pool = ClientPool(devices, args.clients, args.planted)
    try:
        _park(pool, pids, result, args)
        deployed = _fanout(pool, fleet, devices, result, args)
        _idle(pool, pids, result, args)
        _throughputs(pool, deployed, result, args)
        if retries := _sum(pool.call("idle_count"), "errors"):
            result.notes.append(f"{retries} requests retried after a dropped connection")
    finally:
        pool.close()
    return result


def run_backend(name: str, folder: Path, args: argparse.Namespace) -> report.Result:
    if name == "floor":
        with floor_server(folder) as floor:
            return measure(name, FloorFleet(floor.url), [floor], args)
    url = create_database("sqlite" if name == "sqlite" else "postgresql", folder)
    try:
        env = server_env(folder, url)  # one keyring for both replicas, as in production
        token = create_tenant(env, "bench")
        if name != "replicas":
            with edgedock_server(name, folder, env) as server:
                fleet = EdgedockFleet([server.url], token, args.planted)
                return measure(name, fleet, [server], args)
        with edgedock_server("a", folder, env) as a, edgedock_server("b", folder, env) as b:
            fleet = EdgedockFleet([a.url, b.url], token, args.planted)
            return measure(name, fleet, [a, b], args)
    finally:
        drop_database(url)


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated")
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--quick", action="store_true", help="short windows, fewer requests")
    parser.add_argument("--park-wait", type=float, default=60, help="long-poll wait, seconds")
    parser.add_argument("--idle-wait", type=float, default=2, help="idle re-poll wait")
    parser.add_argument("--requests", type=int, default=None, help="per throughput figure")
    parser.add_argument("--concurrency", type=int, default=64, help="for throughput figures")
    parser.add_argument("--connect-concurrency", type=int, default=256)
    args = parser.parse_args(argv)
    args.backends = [b for b in args.backends.split(",") if b]
    if unknown := set(args.backends) - set(BACKENDS):
        parser.error(f"unknown backends: {', '.join(sorted(unknown))}")
    quick = args.quick
    args.requests = args.requests or (1000 if quick else 5000)
    args.warmup, args.window = (2.0, 4.0) if quick else (4.0, 10.0)
    args.settle = 10.0 if quick else 30.0
    args.fanout_limit = 120.0 if quick else 600.0
    args.idle_limit = 60.0 if quick else 180.0
    args.throughput_limit = 20.0 if quick else 30.0
    args.planted = "planted-" + secrets.token_hex(12)  # must never reach a desired state
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse(argv)
    limit = raise_nofile()
    say(
        f"fleet benchmark: {args.devices:,} devices, {', '.join(args.backends)}; "
        f"{args.clients} aiohttp client processes; open files limit {limit}"
    )
    folder = Path(tempfile.mkdtemp(prefix="edgedock-fleet-"))
    started = time.monotonic()
    results = []
    for name in args.backends:
        try:
            results.append(run_backend(name, folder / name, args))
        except Exception as exc:  # one failed configuration must not hide the others
            say(f"{name}: FAILED: {type(exc).__name__}: {exc}")
            failed = report.Result(name, args.devices, failed=True)
            failed.notes.append(f"FAILED: {type(exc).__name__}: {exc}"[:500])
            results.append(failed)
    if any(r.failed for r in results):
        say(f"server logs kept in {folder}")
    else:
        shutil.rmtree(folder, ignore_errors=True)
    print()
    print(report.table(results))
    print()
    print(report.targets(results))
    print(report.notes(results))
    print(f"whole run: {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()

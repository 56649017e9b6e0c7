"""The benchmark's figures, as a Markdown table beside the floor's, and the targets of issue 8."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

COMMIT_BOUND = 3.0  # seconds: one release to the whole fleet must commit within this


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass
class Result:
    """What one configuration (the floor, sqlite, postgresql, replicas) measured."""

    name: str
    devices: int
    register_seconds: float = 0.0
    fanout: list[float] = field(default_factory=list)  # seconds, committed -> seen, per device
    idle_cpu: float = 0.0  # server CPU seconds over the idle window
    idle_polls: int = 0  # 304s answered in that window
    ping: float = 0.0  # requests per second
    registry_auth: float = 0.0
    status: float = 0.0  # status reports (a retry storm's refused pull) per second
    commit_seconds: float = 0.0
    last_seen: float = 0.0  # first deploy request sent -> last device seen it, seconds
    commit_requests: int = 0
    rss_before: int = 0
    rss_parked: int = 0
    notes: list[str] = field(default_factory=list)
    failed: bool = False

    def p(self, q: float) -> float:
        return percentile(self.fanout, q) if self.fanout else float("nan")

    @property
    def cpu_per_idle_poll(self) -> float:
        return self.idle_cpu / self.idle_polls if self.idle_polls else float("nan")

    @property
    def memory_per_device(self) -> float:
        return (self.rss_parked - self.rss_before) / self.devices


@dataclass(frozen=True)
class Figure:
    label: str
    value: Callable[[Result], float]
    unit: str  # how to print it
    scale: float = 1.0


FIGURES = [
    Figure("fan-out p50 (committed → seen)", lambda r: r.p(0.5), "ms", 1000),
    Figure("fan-out p99", lambda r: r.p(0.99), "ms", 1000),
    Figure("fan-out max", lambda r: max(r.fanout, default=float("nan")), "ms", 1000),
    Figure("server CPU per idle poll (304 re-arm)", lambda r: r.cpu_per_idle_poll, "ms", 1000),
    Figure("`ping` throughput", lambda r: r.ping, "req/s"),
    Figure("`registry-auth` throughput", lambda r: r.registry_auth, "req/s"),
    Figure("`status` throughput (a refused pull reported)", lambda r: r.status, "req/s"),
    Figure("commit one release to every device", lambda r: r.commit_seconds, "s"),
    Figure("deploy begun → last device has it", lambda r: r.last_seen, "s"),
    Figure("server memory per parked device", lambda r: r.memory_per_device, "KiB", 1 / 1024),
]


def _number(value: float, unit: str) -> str:
    if value != value:  # NaN: not measured
        return "—"
    if unit == "s":
        return f"{value:,.2f} s"
    if abs(value) < 10:
        return f"{value:,.2f} {unit}"
    return f"{value:,.0f} {unit}"


def table(results: Sequence[Result]) -> str:
    floor = next((r for r in results if r.name == "floor"), None)
    names = [r.name for r in results]
    lines = [
        f"| {results[0].devices:,} devices | " + " | ".join(names) + " |",
        "|---" * (len(results) + 1) + "|",
    ]
    for figure in FIGURES:
        cells = []
        for result in results:
            if result.failed:
                cells.append("failed")
                continue
            value = figure.value(result) * figure.scale
            cell = _number(value, figure.unit)
            if floor is not None and result is not floor and not floor.failed:
                base = figure.value(floor) * figure.scale
                if base and base == base and value == value:
                    share = value / base
                    cell += f" ({share:,.2f}x floor)" if share < 10 else f" ({share:,.0f}x floor)"
            cells.append(cell)
        lines.append(f"| {figure.label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _verdict(ok: bool, text: str) -> str:
    return f"{'PASS' if ok else 'MISS'} {text}"


def targets(results: Sequence[Result]) -> str:
    """One line per target of issue 8, each backend's ratio to the floor of the same run."""
    floor = next((r for r in results if r.name == "floor"), None)
    others = [r for r in results if r.name != "floor"]
    if not others:
        return ""
    rules: list[tuple[str, Callable[[Result], str]]] = []

    def ratio(get: Callable[[Result], float], bound: float, most: bool) -> Callable[[Result], str]:
        def check(result: Result) -> str:
            if floor is None or floor.failed:
                return "— (no floor in this run)"
            value, base = get(result), get(floor)
            if not base or base != base or value != value:
                return "— (not measured)"
            share = value / base
            return _verdict(share <= bound if most else share >= bound, f"{share:,.2f}x")

        return check

    rules.append(("fan-out p99 ≤ 2x floor", ratio(lambda r: r.p(0.99), 2, most=True)))
    rules.append(("CPU per idle poll ≤ 2x floor", ratio(lambda r: r.cpu_per_idle_poll, 2, True)))
    rules.append(("`ping` ≥ 0.5x floor", ratio(lambda r: r.ping, 0.5, most=False)))

    def auth(result: Result) -> str:
        if floor is None or floor.failed or not floor.ping:
            return "— (no floor in this run)"
        share = result.registry_auth / floor.ping
        return _verdict(share >= 0.25, f"{share:,.2f}x floor ping")

    rules.append(("`registry-auth` ≥ 0.25x floor `ping`", auth))

    def commit(result: Result) -> str:
        seconds = result.commit_seconds
        calls = f", {result.commit_requests} bulk requests" if result.commit_requests > 1 else ""
        return _verdict(seconds <= COMMIT_BOUND, f"{seconds:.2f} s{calls}")

    rules.append((f"commit ≤ {COMMIT_BOUND:.0f} s", commit))
    rules.append(("memory per device ≤ 2x floor", ratio(lambda r: r.memory_per_device, 2, True)))
    lines = ["targets (each backend's ratio to the floor of this run):"]
    for label, check in rules:
        verdicts = " · ".join(f"{r.name} {'failed' if r.failed else check(r)}" for r in others)
        lines.append(f"  {label}: {verdicts}")
    return "\n".join(lines)


def notes(results: Sequence[Result]) -> str:
    lines = []
    for result in results:
        done = [] if result.failed else [f"registered in {result.register_seconds:.1f} s"]
        lines.append(f"  {result.name}: " + "; ".join(done + result.notes))
    return "notes:\n" + "\n".join(lines)

"""Release version order (semver precedence) and the next patch version. Pure, no I/O.

Release versions are checked as semantic versions on input (releases/schemas.py), so every
stored version parses here; an application's highest version is the greatest by this order.
"""

from __future__ import annotations

import re

_PLAIN = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")
_CORE = re.compile(r"([0-9]+)\.([0-9]+)\.([0-9]+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?")

# (0, n) sorts numeric identifiers before (1, text) alphanumeric ones, as semver 11.4.3 says.
Identifier = tuple[int, int | str]
PrecedenceKey = tuple[int, int, int, int, tuple[Identifier, ...]]


def precedence(version: str) -> PrecedenceKey:
    """A sort key: `max(versions, key=precedence)` is the highest version by semver 2.0.0.

    A pre-release sorts below its release (1.0.0-rc.1 < 1.0.0); build metadata is ignored.
    A string that is not a semantic version sorts below every one that is.
    """
    match = _CORE.fullmatch(version.strip())
    if match is None:
        return (-1, 0, 0, 0, ())
    major, minor, patch, pre = match.groups()
    if pre is None:
        return (int(major), int(minor), int(patch), 1, ())
    identifiers = tuple((0, int(p)) if p.isdigit() else (1, p) for p in pre.split("."))
    return (int(major), int(minor), int(patch), 0, identifiers)


def next_patch(version: str) -> str | None:
    """`1.4.2` → `1.4.3`; None for a version that is not plain `x.y.z` (a pre-release or one
    with build metadata), where the next one is a person's choice."""
    match = _PLAIN.fullmatch(version.strip())
    if match is None:
        return None
    major, minor, patch = match.groups()
    return f"{major}.{minor}.{int(patch) + 1}"

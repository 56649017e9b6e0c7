"""The layer contract of ../shared/STYLE.md, checked on every module's imports.

- models import nothing of edgedock but `edgedock.db`;
- services and the read side never import the web layer (fastapi, starlette, edgedock.server);
- the read side (`edgedock.read`) imports models, schemas and pure modules, never a service;
- a feature's modules reach another feature's tables only from the read side; the places that
  still do are listed in KNOWN_CROSS_FEATURE_MODELS, a list that may only shrink.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "edgedock"
FEATURES = {
    "applications",
    "audit",
    "credentials",
    "deployments",
    "device_api",
    "devices",
    "registries",
    "releases",
    "tenants",
    "tokens",
}
WEB = ("fastapi", "starlette", "edgedock.server")

# Write-side code that still reads (and locks) other features' rows inside its own transaction:
# the checks before a write (a deploy locks its devices and release; deleting credentials
# tombstones the release containers that used them). Remove entries as they move to the read
# side or behind the owning feature's service; never add one.
KNOWN_CROSS_FEATURE_MODELS = {
    ("edgedock.credentials.service", "applications"),
    ("edgedock.credentials.service", "audit"),
    ("edgedock.credentials.service", "devices"),
    ("edgedock.credentials.service", "releases"),
    ("edgedock.deployments.service", "applications"),
    ("edgedock.deployments.service", "devices"),
    ("edgedock.deployments.service", "releases"),
    ("edgedock.deployments.reports", "releases"),
    ("edgedock.devices.service", "deployments"),
    ("edgedock.releases.service", "applications"),
    ("edgedock.releases.service", "credentials"),
    ("edgedock.releases.pages", "applications"),
    ("edgedock.device_api.polls", "devices"),
    ("edgedock.device_api.projection", "deployments"),
    ("edgedock.device_api.projection", "devices"),
    ("edgedock.device_api.seen", "devices"),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(source: str, module: str) -> set[str]:
    """Every module `source` imports, with `from a import b` counted as `a.b` too."""
    found: set[str] = set()
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    [*package.split(".")[: len(package.split(".")) - node.level + 1], base]
                ).rstrip(".")
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _feature(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in FEATURES else None


def violations(module: str, imported: set[str]) -> list[str]:
    found: list[str] = []
    leaf = module.rsplit(".", 1)[-1]
    own = _feature(module)
    on_read_side = module.startswith("edgedock.read")
    for name in sorted(imported):
        allowed_in_models = ("edgedock.db", f"edgedock.{own}.models")
        if (
            leaf == "models"
            and name.startswith("edgedock.")
            and not any(name == a or name.startswith(a + ".") for a in allowed_in_models)
        ):
            found.append(f"{module}: a model imports {name}")
        if (leaf == "service" or on_read_side or leaf in ("reports", "projection")) and any(
            name == w or name.startswith(w + ".") for w in WEB
        ):
            found.append(f"{module}: imports the web layer ({name})")
        if on_read_side and name.startswith("edgedock.") and name.endswith(".service"):
            found.append(f"{module}: the read side imports a service ({name})")
        target = _feature(name)
        if (
            own is not None
            and target is not None
            and target != own
            and name == f"edgedock.{target}.models"
            and (module, target) not in KNOWN_CROSS_FEATURE_MODELS
        ):
            found.append(f"{module}: reads {target}'s tables; put that query on the read side")
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_module_keeps_to_the_layer_rules(path: Path) -> None:
    module = module_name(path)
    assert violations(module, imports_of(path.read_text(), module)) == []


def test_known_cross_feature_reads_are_all_still_real() -> None:
    """An entry that no longer matches an import must be deleted, so the list only shrinks."""
    real = set()
    for path in MODULES:
        module = module_name(path)
        for name in imports_of(path.read_text(), module):
            target = _feature(name)
            if target and name == f"edgedock.{target}.models":
                real.add((module, target))
    assert real >= KNOWN_CROSS_FEATURE_MODELS, KNOWN_CROSS_FEATURE_MODELS - real


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("edgedock.read.example", "from edgedock.credentials import service"),
        ("edgedock.read.example", "from fastapi import Request"),
        ("edgedock.credentials.service", "from starlette.requests import Request"),
        ("edgedock.credentials.service", "from edgedock.server.deps import Session"),
        ("edgedock.credentials.models", "from edgedock.releases.models import Release"),
        ("edgedock.tokens.service", "from edgedock.devices.models import Device"),
    ],
)
def test_the_contract_refuses_a_forbidden_import(module: str, source: str) -> None:
    assert violations(module, imports_of(source, module)) != []

"""The agent's import contract (STYLE.md layer rule 5): nothing of the server, installable alone.

The AST walk sees every import, including those inside functions and `TYPE_CHECKING` blocks,
and follows edgedock modules transitively. The subprocess check then imports the agent, and
runs `edgedock agent --help`, with the server's dependencies made unimportable, which is what a
device with `pip install edgedock[agent]` has.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
AGENT = SRC / "edgedock" / "agent"

ALLOWED_THIRD_PARTY = {"httpx", "docker", "pydantic"}
ALLOWED_EDGEDOCK = {
    "edgedock",
    "edgedock.wire",
    "edgedock.container_spec",
    "edgedock.references",
    "edgedock.registry_auth",
    "edgedock.text",  # pure text rules the protocol's fields use (wire.py)
    "edgedock.secret_forms",  # the forms of a secret to remove from messages (redact.py)
}
# What the CLI entry point of the agent may add: the CLI framework and its own output helpers.
# yaml: `-o yaml` output (pyyaml is a base dependency, imported only when asked for).
CLI_EXTRA = frozenset({"typer", "yaml", "edgedock.cli", "edgedock.cli.output"})
SERVER_ONLY = [
    "fastapi",
    "starlette",
    "uvicorn",
    "sqlalchemy",
    "alembic",
    "aiosqlite",
    "asyncpg",
    "cryptography",
    "jinja2",
    "pydantic_settings",
    "multipart",
]
# Distribution name → the top-level module it installs, where they differ.
DISTRIBUTION_MODULES = {"pydantic-settings": "pydantic_settings"}


def module_path(name: str) -> Path | None:
    base = SRC.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def imports_of(name: str) -> set[str]:
    """Every module ``name`` imports, absolute, with `from pkg import mod` resolved to pkg.mod."""
    path = module_path(name)
    assert path is not None, name
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    return imports_in(path.read_text(), package)


def imports_in(source: str, package: str) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            found.add(base)
            for alias in node.names:
                if module_path(f"{base}.{alias.name}") is not None:
                    found.add(f"{base}.{alias.name}")
    return found


def allowed(module: str, extra: frozenset[str]) -> bool:
    top = module.partition(".")[0]
    if top != "edgedock":
        return top in sys.stdlib_module_names or top in ALLOWED_THIRD_PARTY or top in extra
    return (
        module in ALLOWED_EDGEDOCK
        or module == "edgedock.agent"
        or module.startswith("edgedock.agent.")
        or module in extra
    )


def violations(roots: list[str], extra: frozenset[str] = frozenset()) -> dict[str, set[str]]:
    """Module → the imports it must not make, for ``roots`` and every edgedock module they reach."""
    seen: set[str] = set()
    queue = list(roots)
    bad: dict[str, set[str]] = {}
    while queue:
        name = queue.pop()
        if name in seen:
            continue
        seen.add(name)
        for imported in imports_of(name):
            if not allowed(imported, extra):
                bad.setdefault(name, set()).add(imported)
            elif imported.startswith("edgedock") and module_path(imported) is not None:
                queue.append(imported)
    return bad


def agent_modules() -> list[str]:
    return sorted(
        "edgedock.agent" + ("" if p.stem == "__init__" else f".{p.stem}")
        for p in AGENT.glob("*.py")
    )


def test_agent_modules_exist() -> None:
    assert {"edgedock.agent.loop", "edgedock.agent.plan", "edgedock.agent.engine"} <= set(
        agent_modules()
    )


def test_agent_imports_only_allowed_modules() -> None:
    assert violations(agent_modules()) == {}


def test_agent_command_imports_only_allowed_modules() -> None:
    assert violations(["edgedock.cli.agent"], CLI_EXTRA) == {}


def test_import_walk_catches_forbidden_import() -> None:
    """The checker itself: imports inside functions and relative imports are resolved."""
    source = textwrap.dedent(
        """
        import os
        from . import plan
        from .. import wire
        def later():
            from edgedock.credentials import service
            import sqlalchemy.orm
        """
    )
    found = imports_in(source, "edgedock.agent")
    assert {"os", "edgedock.agent.plan", "edgedock.wire"} <= found
    assert {m for m in found if not allowed(m, frozenset())} == {
        "edgedock.credentials",
        "edgedock.credentials.service",
        "sqlalchemy.orm",
    }


def requirement_names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\s\[<>=!~;]", r, maxsplit=1)[0].lower() for r in requirements}


def test_base_dependencies_and_agent_extra_cover_agent_imports() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    installed = requirement_names(
        project["dependencies"] + project["optional-dependencies"]["agent"]
    )
    modules = {DISTRIBUTION_MODULES.get(name, name.replace("-", "_")) for name in installed}
    assert ALLOWED_THIRD_PARTY | {"typer"} <= modules
    assert not modules & set(SERVER_ONLY), "the agent install must not pull in the server"


def test_agent_runs_without_server_dependencies() -> None:
    blocked = ", ".join(repr(m) for m in SERVER_ONLY)
    script = textwrap.dedent(
        f"""
        import importlib.abc, sys

        BLOCKED = {{{blocked}}}

        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.partition(".")[0] in BLOCKED:
                    raise ModuleNotFoundError(f"blocked: {{name}}", name=name)
                return None

        sys.meta_path.insert(0, Block())
        import edgedock.agent.loop, edgedock.agent.server_client, edgedock.cli.agent
        from typer.testing import CliRunner
        from edgedock.cli.main import app

        result = CliRunner().invoke(app, ["agent", "--help"])
        assert result.exit_code == 0, result.output
        assert "--token-file" in result.output
        loaded = sorted(m for m in sys.modules if m.partition(".")[0] in BLOCKED)
        assert not loaded, loaded
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


@pytest.mark.parametrize("module", agent_modules())
def test_agent_module_has_docstring(module: str) -> None:
    path = module_path(module)
    assert path is not None
    assert ast.get_docstring(ast.parse(path.read_text())), f"{module} has no module docstring"

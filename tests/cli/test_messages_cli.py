"""Start-up mistakes answered with the fix, in one line on stderr, as `edgedock` users meet them."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from edgedock.cli.server_extra import SERVER_MODULES
from tests.support.live_server import EDGEDOCK

# Makes every module of the server's extra fail to import, as it does where only
# `pip install edgedock` (or `edgedock[agent]`) ran; the real packages stay installed.
BLOCK_SERVER_EXTRA = f"""\
import sys

BLOCKED = {sorted(SERVER_MODULES)!r}


class BlockServerExtra:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None


sys.meta_path.insert(0, BlockServerExtra())
"""


def _edgedock(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EDGEDOCK, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


def _env(tmp_path: Path, **values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGEDOCK_")}
    return {**env, "EDGEDOCK_DATA_DIR": str(tmp_path / "data"), **values}


def test_serve_on_a_busy_port_names_edgedock_port(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = _edgedock("serve", env=_env(tmp_path, EDGEDOCK_PORT=str(port)), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"error: port {port} on 127.0.0.1 is already in use: stop what listens there, "
        "or set EDGEDOCK_PORT to another port"
    ]
    assert not (tmp_path / "data").exists(), "nothing is prepared before the port is known free"


def test_serve_on_a_configured_database_without_keys_says_keys_init(tmp_path: Path) -> None:
    env = _env(tmp_path, EDGEDOCK_DATABASE_URL=f"sqlite:///{tmp_path / 'edgedock.db'}")
    assert _edgedock("db", "upgrade", env=env, cwd=tmp_path).returncode == 0
    result = _edgedock("serve", env={**env, "EDGEDOCK_PORT": "0"}, cwd=tmp_path)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: secret key file {tmp_path / 'data' / 'secret-keys'} does not exist: run "
        "`edgedock keys init` to create it (or set EDGEDOCK_SECRET_KEYS)"
    ]
    assert "Traceback" not in result.stderr


@pytest.fixture
def without_server_extra(tmp_path: Path) -> dict[str, str]:
    """An environment whose Python cannot import the server extra's modules (sitecustomize)."""
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(BLOCK_SERVER_EXTRA)
    return _env(tmp_path, PYTHONPATH=str(blocker))


@pytest.mark.parametrize(
    ("args", "command"),
    [
        (("serve",), "edgedock serve"),
        (("tenants", "create", "acme"), "edgedock tenants create"),
        (("db", "upgrade"), "edgedock db upgrade"),
    ],
)
def test_server_commands_without_the_server_extra_say_install_it_imports_blocked(
    without_server_extra: dict[str, str], tmp_path: Path, args: tuple[str, ...], command: str
) -> None:
    result = _edgedock(*args, env=without_server_extra, cwd=tmp_path)
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: `{command}` needs the server's extra, and ")
    assert line.endswith(" is not installed: pip install 'edgedock[server]'")


def test_the_blocker_really_blocks_and_leaves_the_agent_alone_imports_blocked(
    without_server_extra: dict[str, str], tmp_path: Path
) -> None:
    """The two halves of the test above: the server's modules are gone, the agent's are not."""
    probe = subprocess.run(
        [str(Path(EDGEDOCK).with_name("python")), "-c", "import fastapi"],
        env=without_server_extra, cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert probe.returncode == 1 and "No module named 'fastapi'" in probe.stderr
    help_text = _edgedock("agent", "--help", env=without_server_extra, cwd=tmp_path)
    assert help_text.returncode == 0 and "install-service" in help_text.stdout

"""`edgedock completion bash|zsh|fish`, live completion of names in a real bash, `--version`."""

from __future__ import annotations

import os
import shutil
import subprocess
from importlib.metadata import version
from pathlib import Path

import pytest

from tests.support.live_server import EDGEDOCK


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EDGEDOCK, *args], capture_output=True, text=True, env=env, timeout=60)


def test_version_prints_the_installed_version():
    result = _run("--version")
    assert result.returncode == 0 and result.stdout == f"edgedock {version('edgedock')}\n"


@pytest.mark.parametrize(
    ("shell", "marker"),
    [
        ("bash", "complete -o default -F _edgedock_completion edgedock"),
        ("zsh", "compdef _edgedock_completion edgedock"),
        ("fish", "complete --command edgedock"),
    ],
)
def test_completion_prints_the_script_for_each_shell(shell, marker):
    result = _run("completion", shell)
    assert result.returncode == 0 and result.stderr == ""
    assert marker in result.stdout and "_EDGEDOCK_COMPLETE=complete_" in result.stdout


def test_completion_of_an_unknown_shell_is_one_line():
    result = _run("completion", "tcsh")
    assert result.returncode == 2 and "tcsh" in result.stderr and result.stdout == ""


def _bash_complete(live_server, line: str) -> list[str]:
    """What Tab offers at the end of `line` in a real bash that sourced `edgedock completion
    bash`: bash sets COMP_LINE and COMP_POINT and replaces the part of the word after the last
    COMP_WORDBREAKS character (`@` among them) with what COMPREPLY holds."""
    env = {
        **live_server.env,
        "EDGEDOCK_URL": live_server.url,
        "EDGEDOCK_TOKEN": live_server.admin_token,
        "PATH": f"{Path(EDGEDOCK).parent}{os.pathsep}{os.environ['PATH']}",
    }
    script = (
        "source <(edgedock completion bash)\n"
        f"COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}\n"
        "_edgedock_completion edgedock\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    result = subprocess.run(
        [shutil.which("bash") or "bash", "-c", script],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines() if line]


def test_bash_completes_commands_and_device_names_from_the_server(live_server):
    for name in ("tab-gw-1", "tab-gw-2", "other-gw"):
        live_server.cli("devices", "create", "--name", name, check=True)
    live_server.cli("apps", "create", "--name", "tab-app", check=True)
    live_server.cli(
        "releases",
        "create",
        "tab-app",
        "--version",
        "3.1.0",
        "-f",
        "-",
        input="containers: [{name: web, image: nginx}]",
        check=True,
    )
    assert "devices" in _bash_complete(live_server, "edgedock dev")
    assert sorted(_bash_complete(live_server, "edgedock devices show tab-")) == [
        "tab-gw-1",
        "tab-gw-2",
    ]
    assert _bash_complete(live_server, "edgedock deploy create --release tab-a") == ["tab-app@"]
    # bash replaces only what follows the `@`: COMPREPLY holds the version alone.
    assert _bash_complete(live_server, "edgedock deploy create --release tab-app@3") == ["3.1.0"]
    assert _bash_complete(live_server, "edgedock deploy create --device tab-gw-1 --release ") == [
        "tab-app@"
    ]
    live_server.cli(
        "deploy", "create", "--release", "tab-app@3.1.0", "--device", "tab-gw-1", check=True
    )
    assert _bash_complete(live_server, "edgedock deploy show tab-gw-1/") == ["tab-gw-1/tab-app"]


def test_completion_without_a_token_offers_nothing_and_prints_no_error(live_server):
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGEDOCK_")}
    env.update(
        _EDGEDOCK_COMPLETE="complete_bash", COMP_LINE="edgedock devices show x", COMP_POINT="22"
    )
    result = subprocess.run([EDGEDOCK], capture_output=True, text=True, env=env, timeout=60)
    assert (result.returncode, result.stdout.strip(), result.stderr) == (0, "", "")

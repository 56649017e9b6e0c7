"""Setting an agent up on a device, as its user meets it: the token file, the URL, the unit.

Each CLI case runs `edgedock agent` as a subprocess and reads its stderr. None of them reaches a
server: the cases that name a non-loopback URL end at the token file check, before any call.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from edgedock.agent.server_client import (
    ServerClient,
    TokenFileInsecure,
    plain_http_warning,
    read_token,
)
from edgedock.agent.service_unit import systemd_quote, unit_text
from tests.support.live_server import EDGEDOCK

CONTRIB_UNIT = Path(__file__).resolve().parents[2] / "contrib" / "edgedock-agent.service"


def _agent(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGEDOCK_")}
    return subprocess.run(
        [EDGEDOCK, "agent", *args], env=env, capture_output=True, text=True, timeout=60
    )


def _token_file(tmp_path: Path, mode: int) -> Path:
    path = tmp_path / "device-token"
    path.write_text("edd_0123456789\n")
    path.chmod(mode)
    return path


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620])
def test_read_token_refuses_a_file_others_can_open(tmp_path: Path, mode: int) -> None:
    path = _token_file(tmp_path, mode)
    with pytest.raises(TokenFileInsecure) as caught:
        read_token(path)
    assert f"(mode {mode:04o})" in str(caught.value)
    assert str(caught.value).endswith(f"chmod 600 {path}")


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_read_token_takes_an_owner_only_file(tmp_path: Path, mode: int) -> None:
    assert read_token(_token_file(tmp_path, mode)) == "edd_0123456789"


def test_agent_command_refuses_a_readable_token_file_in_one_line(tmp_path: Path) -> None:
    path = _token_file(tmp_path, 0o644)
    result = _agent("--server", "https://edgedock.example", "--token-file", str(path))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"error: the token file {path} is open to other users (mode 0644); "
        f"make it owner-only: chmod 600 {path}"
    ]


def test_agent_command_names_a_missing_token_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere"
    result = _agent("--server", "https://edgedock.example", "--token-file", str(path))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"error: cannot read the token file {path}: No such file or directory"
    ]


def test_agent_command_warns_on_plain_http_to_another_host(tmp_path: Path) -> None:
    path = _token_file(tmp_path, 0o644)  # ends the command before it calls the server
    result = _agent("--server", "http://edgedock.example:8000", "--token-file", str(path))
    assert result.returncode == 1
    warning, error = result.stderr.splitlines()
    assert (
        "WARNING edgedock.agent: the server URL http://edgedock.example:8000 is plain HTTP"
        in warning
    )
    assert "use https://" in warning
    assert error.startswith("error: the token file")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000",
        "http://localhost:8000",
        "http://[::1]:8000",
        "https://edgedock.example",
    ],
)
def test_agent_command_says_nothing_of_loopback_or_https(tmp_path: Path, url: str) -> None:
    path = _token_file(tmp_path, 0o644)
    result = _agent("--server", url, "--token-file", str(path))
    assert result.returncode == 1
    assert "plain HTTP" not in result.stderr
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    ("url", "warned"),
    [
        ("http://10.0.0.5:8000", True),
        ("http://edgedock.lan", True),
        ("HTTP://EDGEDOCK.EXAMPLE", True),
        ("http://127.0.0.53:8000", False),
        ("http://dev.localhost", False),
        ("https://10.0.0.5", False),
    ],
)
def test_plain_http_warning_only_off_loopback(url: str, warned: bool) -> None:
    assert (plain_http_warning(url) is not None) is warned


def test_reload_keeps_the_token_when_the_new_file_is_open_to_others(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _token_file(tmp_path, 0o600)
    transport = httpx.MockTransport(lambda request: httpx.Response(500))
    with ServerClient(
        "https://srv.test", token="edd_0123456789", token_file=path, transport=transport
    ) as client:
        path.write_text("edd_new\n")
        path.chmod(0o644)
        with caplog.at_level(logging.ERROR, logger="edgedock.agent"):
            assert client.reload_token() is False
    assert [r.message for r in caplog.records] == [
        f"the token file {path} is open to other users (mode 0644); make it owner-only: "
        f"chmod 600 {path}; keeping the token in use"
    ]


def test_agent_command_names_an_engine_url_it_cannot_use(tmp_path: Path) -> None:
    path = _token_file(tmp_path, 0o600)
    result = _agent(
        "--server", "https://edgedock.example", "--token-file", str(path), "--engine", "foo://x"
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error: --engine foo://x: connecting to the engine at foo://x: "
        "Invalid bind address protocol: foo://x"
    ]


def test_agent_without_server_or_token_file_says_which_are_needed() -> None:
    result = _agent()
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error: the agent needs --server URL and --token-file PATH (see `edgedock agent --help`)"
    ]


@pytest.mark.parametrize(
    ("word", "quoted"),
    [
        ("/opt/edgedock/bin/edgedock", "/opt/edgedock/bin/edgedock"),
        ("https://edgedock.example:8443", "https://edgedock.example:8443"),
        ("/etc/edge dock/token", '"/etc/edge dock/token"'),
        ("100%", '"100%%"'),
        ("$HOME", '"$$HOME"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("", '""'),
    ],
)
def test_systemd_quote(word: str, quoted: str) -> None:
    assert systemd_quote(word) == quoted


def test_install_service_writes_a_unit_that_restarts_on_failure(tmp_path: Path) -> None:
    unit = tmp_path / "edgedock-agent.service"
    result = _agent(
        "install-service", "--server", "https://edgedock.example", "--token-file",
        "/etc/edgedock/device-token", "--engine", "unix:///run/podman/podman.sock",
        "--unit", str(unit),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"wrote {unit}",
        "next: systemctl daemon-reload && systemctl enable --now edgedock-agent",
    ]
    text = unit.read_text()
    exec_start = (
        f"ExecStart={EDGEDOCK} agent --server https://edgedock.example "
        "--token-file /etc/edgedock/device-token --engine unix:///run/podman/podman.sock"
    )
    assert exec_start in text.splitlines()
    assert "Restart=on-failure" in text.splitlines()
    assert unit.stat().st_mode & 0o777 == 0o644


def test_install_service_prints_the_unit_with_a_dash(tmp_path: Path) -> None:
    result = _agent(
        "install-service", "--server", "https://e.example", "--token-file", "/t", "--unit", "-"
    )
    assert result.returncode == 0
    assert "\n[Unit]\n" in result.stdout and result.stderr == ""


def test_install_service_names_the_unit_it_cannot_write(tmp_path: Path) -> None:
    unit = tmp_path / "missing" / "edgedock-agent.service"
    result = _agent("install-service", "--server", "https://e.example", "--token-file", "/t",
                    "--unit", str(unit))  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"error: cannot write {unit}: No such file or directory (run it as root, or --unit -)"
    ]


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed"
)
def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    unit = tmp_path / "edgedock-agent.service"
    unit.write_text(
        unit_text(
            command=[EDGEDOCK], server="https://e.example/a b", token_file="/t", engine="unix:///x"
        )
    )
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr


def test_the_documented_unit_is_the_one_install_service_writes() -> None:
    assert CONTRIB_UNIT.read_text() == unit_text(
        command=["/opt/edgedock/bin/edgedock"],
        server="https://edgedock.example.com",
        token_file="/etc/edgedock/device-token",
        engine="unix:///var/run/docker.sock",
    )

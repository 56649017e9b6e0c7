"""`/agent/`: the agent's wheel for devices, and the commands that install and run it.

No sign-in: a device being set up has nothing but its token, and the wheel holds no secret (it
is the code every installation of this version runs). `/agent/` is a page of links that
`pip install --find-links` reads as well as a person does; the install the pages show names
the wheel's URL directly (`edgedock[agent] @ URL`), so pip cannot take an `edgedock` from
another index instead.
"""

from __future__ import annotations

import asyncio
import shlex

from fastapi import APIRouter, Request
from fastapi.responses import Response

from edgedock.errors import NotFound
from edgedock.server import agent_wheel, web

router = APIRouter(prefix="/agent", include_in_schema=False)

VENV = "/opt/edgedock"
TOKEN_DIR = "/etc/edgedock"  # noqa: S105 - a path, not a secret
TOKEN_FILE = f"{TOKEN_DIR}/device-token"
DOCKER_ENGINE = "unix:///var/run/docker.sock"
PODMAN_ENGINE = "unix:///run/podman/podman.sock"


def wheel_url(server_url: str) -> str:
    return f"{server_url.rstrip('/')}/agent/{agent_wheel.wheel_filename()}"


def install_commands(server_url: str, *, token: str | None = None) -> str:
    """The shell lines that install the agent from this server and run it under systemd.

    With ``token`` the token file is written from the command itself (the page that shows the
    token once); without, the last line waits for the person to paste it. That line comes last
    because a block pasted into a shell is its input too: a read in the middle would take the
    lines pasted after it for the token.
    """
    server = server_url.rstrip("/")
    requirement = shlex.quote(f"edgedock[agent] @ {wheel_url(server)}")
    write = f"sudo install -m 600 /dev/stdin {TOKEN_FILE}"
    start = "sudo systemctl enable --now edgedock-agent"
    if token is None:
        last = f"{write} && {start}   # paste the device token, then Ctrl-D"
    else:
        last = f"printf '%s\\n' {shlex.quote(token)} | {write} && {start}"
    return "\n".join(
        [
            f"sudo python3 -m venv {VENV}",
            f"sudo {VENV}/bin/pip install {requirement}",
            f"sudo {VENV}/bin/edgedock agent install-service --server {shlex.quote(server)} "
            f"--token-file {TOKEN_FILE} --engine {DOCKER_ENGINE}",
            "sudo systemctl daemon-reload",
            f"sudo install -d -m 700 {TOKEN_DIR}",
            last,
        ]
    )


async def _wheel() -> agent_wheel.AgentWheel:
    """Built off the event loop on first use; cached after that."""
    return await asyncio.to_thread(agent_wheel.current_wheel)


@router.get("/")
async def show_agent_index(request: Request) -> Response:
    wheel = await _wheel()
    server = str(request.base_url).rstrip("/")
    context = {
        "wheel": wheel,
        "version": agent_wheel.server_version(),
        "commands": install_commands(server),
        "podman_engine": PODMAN_ENGINE,
    }
    return web.render(request, "agent/index.html", context)


@router.get("/{filename}")
async def download_agent_wheel(filename: str, request: Request) -> Response:
    wheel = await _wheel()
    if filename != wheel.filename:
        raise NotFound(f"no file {filename} here; this server serves {wheel.filename}")
    etag = f'"{wheel.sha256}"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if request.headers.get("if-none-match") == etag:
        return web.secure_headers(Response(status_code=304, headers=headers))
    response = Response(wheel.content, media_type="application/octet-stream", headers=headers)
    response.headers["Content-Disposition"] = f'attachment; filename="{wheel.filename}"'
    return web.secure_headers(response)

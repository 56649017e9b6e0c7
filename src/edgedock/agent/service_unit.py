"""The systemd unit that runs the agent on a device (`edgedock agent install-service`).

The unit names the agent's absolute command, the server, the token file and the engine socket,
restarts the agent when it fails, and keeps it from changing the system: the agent writes
nothing, it reads its token file and talks to the server and the engine's socket.
`contrib/edgedock-agent.service` is the same unit with placeholders, for reading.
"""

from __future__ import annotations

UNIT_NAME = "edgedock-agent.service"
DEFAULT_PATH = f"/etc/systemd/system/{UNIT_NAME}"


def systemd_quote(word: str) -> str:
    """One argument of ``ExecStart=``, quoted as systemd reads it (`%` and `$` are its own)."""
    if word and not any(c.isspace() or c in "\\'\";%$" for c in word):
        return word
    escaped = word.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("%", "%%").replace("$", "$$") + '"'


def unit_text(*, command: list[str], server: str, token_file: str, engine: str) -> str:
    """The unit for ``command`` (the agent's executable, e.g. `/opt/edgedock/bin/edgedock`)."""
    args = [*command, "agent", "--server", server, "--token-file", token_file, "--engine", engine]
    exec_start = " ".join(systemd_quote(arg) for arg in args)
    return f"""\
# The edgedock device agent, as `edgedock agent install-service --server URL --token-file PATH
# --engine SOCKET` writes it (to /etc/systemd/system/, then: systemctl daemon-reload &&
# systemctl enable --now edgedock-agent). The token file must be owner-only (chmod 600).
[Unit]
Description=edgedock device agent
After=network-online.target docker.service podman.socket podman.service
Wants=network-online.target

[Service]
Type=exec
ExecStart={exec_start}
# A failure (token refused at start, bad token file, a crash) is retried, slowly enough that a
# device waiting for its operator does not spin.
Restart=on-failure
RestartSec=10
# The agent writes nothing and needs no privilege beyond the engine's socket.
NoNewPrivileges=yes
ProtectSystem=full
ProtectHome=read-only
PrivateTmp=yes

[Install]
WantedBy=multi-user.target
"""

"""Shell completion: `edgedock completion bash|zsh|fish` prints the script; names complete live.

Completing a name asks the server (EDGEDOCK_URL, EDGEDOCK_TOKEN) for at most one page of
matches; any failure, such as no token or no server, completes nothing rather than printing an
error into the middle of the person's command line.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable
from typing import Annotated, Any

import typer

COMPLETE_VAR = "_EDGEDOCK_COMPLETE"


class Shell(enum.StrEnum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


# Bash splits the word being completed at COMP_WORDBREAKS (@, :, = among them), so Typer's
# script, which passes the split COMP_WORDS, would see `sensor-gateway@1.` as three words.
# This one passes the line itself; completions are then cut to the part after the last break,
# which is all bash replaces.
BASH_SCRIPT = """\
_edgedock_completion() {
    local IFS=$'\\n'
    COMPREPLY=( $( env COMP_LINE="$COMP_LINE" COMP_POINT="$COMP_POINT" \\
                   _EDGEDOCK_COMPLETE=complete_bash $1 ) )
    return 0
}

complete -o default -F _edgedock_completion edgedock"""
BASH_WORDBREAKS = "@:="


def register_shells() -> None:
    """Typer's completion protocol for each shell, bash's our own; needed before completing."""
    from typer._click.shell_completion import add_completion_class, split_arg_string
    from typer._completion_classes import BashComplete, completion_init

    completion_init()

    class LineBashComplete(BashComplete):
        cut = 0

        def get_completion_args(self) -> tuple[list[str], str]:
            line = os.environ.get("COMP_LINE", "")
            line = line[: int(os.environ.get("COMP_POINT", len(line)))]
            words = split_arg_string(line)
            incomplete = "" if not line or line[-1].isspace() else words.pop()
            self.cut = max(incomplete.rfind(c) for c in BASH_WORDBREAKS) + 1
            return words[1:], incomplete

        def format_completion(self, item: Any) -> str:
            return str(item.value)[self.cut :]

    add_completion_class(LineBashComplete, "bash")


def completion(
    shell: Annotated[
        Shell, typer.Argument(help="bash, zsh or fish.", metavar="SHELL", case_sensitive=False)
    ],
) -> None:
    """Print the shell completion script for bash, zsh or fish.

    bash: `source <(edgedock completion bash)` in ~/.bashrc.
    zsh: `edgedock completion zsh > "${fpath[1]}/_edgedock"`.
    fish: `edgedock completion fish > ~/.config/fish/completions/edgedock.fish`.
    Names of devices, applications, releases and credentials complete from the server in
    EDGEDOCK_URL.
    """
    from typer._completion_shared import get_completion_script

    if shell is Shell.bash:
        typer.echo(BASH_SCRIPT)
        return
    typer.echo(
        get_completion_script(prog_name="edgedock", complete_var=COMPLETE_VAR, shell=shell.value)
    )


def _items(path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """One page from the API, or nothing: completion must stay silent and quick (2 s at most)."""
    import httpx

    token = os.environ.get("EDGEDOCK_TOKEN")
    if not token:
        return []
    url = os.environ.get("EDGEDOCK_URL", "http://127.0.0.1:8000").rstrip("/") + "/api/v1"
    try:
        response = httpx.get(
            url + path,
            params={"limit": 50, **params},
            headers={"Authorization": f"Bearer {token}", "User-Agent": "edgedock-cli"},
            timeout=2.0,
        )
        items = response.json()["items"] if response.status_code == 200 else []
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return []
    return [item for item in items if isinstance(item, dict)]


def _names(path: str, key: str, incomplete: str) -> list[str]:
    items = _items(path, {"q": incomplete} if incomplete else {})
    lowered = incomplete.casefold()
    return [str(i[key]) for i in items if str(i.get(key, "")).casefold().startswith(lowered)]


def _completer(path: str, key: str) -> Callable[[str], list[str]]:
    def complete(incomplete: str) -> list[str]:
        return _names(path, key, incomplete)

    return complete


complete_applications = _completer("/applications", "name")
complete_devices = _completer("/devices", "name")
complete_credentials = _completer("/image-credentials", "label")


def complete_releases(incomplete: str) -> list[str]:
    """APP@VERSION: application names until the `@`, then that application's versions."""
    if "@" not in incomplete:
        return [f"{name}@" for name in _names("/applications", "name", incomplete)]
    app_name, _, version = incomplete.rpartition("@")
    found = _items("/applications", {"name": app_name})
    if len(found) != 1:
        return []
    items = _items(f"/applications/{found[0]['id']}/releases", {})
    return [f"{app_name}@{r['version']}" for r in items if str(r["version"]).startswith(version)]


def complete_deployments(incomplete: str) -> list[str]:
    """DEVICE/APP of the deployments: the newest page, as people name a deployment."""
    names = [f"{d['device']}/{d['application']}" for d in _items("/deployments", {})]
    return [n for n in names if n.casefold().startswith(incomplete.casefold())]

"""The whole help tree: every command described, every option explained, no type placeholders.

Walks the command tree `edgedock` itself runs (`edgedock.cli.main.build`), so a command added
anywhere is checked without listing it here.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from typing import Any

from typer._click import Context

from edgedock.cli.main import build
from tests.support.live_server import EDGEDOCK

# Typer's `<str>`, `<bool>`, `<list[str]>`, `<path>` and click's TEXT, INTEGER… labels.
PLACEHOLDER = re.compile(
    r"<[a-z][a-z_]*(\[[^\]]*\])?>|\b(TEXT|INTEGER|BOOLEAN|FLOAT|FILENAME|UUID)\b"
)


def _walk(command: Any, ctx: Context) -> Iterator[tuple[str, Any, Context]]:
    yield ctx.command_path, command, ctx
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from _walk(sub, Context(sub, info_name=name, parent=ctx))


def _tree() -> list[tuple[str, Any, Context]]:
    root = build()
    return list(_walk(root, Context(root, info_name="edgedock")))


def test_help_tree_has_the_commands_of_every_group():
    paths = {path for path, _, _ in _tree()}
    assert {"edgedock deploy upgrade", "edgedock releases create", "edgedock completion"} <= paths
    assert len(paths) > 40


def test_every_command_has_a_description():
    missing = [path for path, command, _ in _tree() if not (command.help or "").strip()]
    assert missing == []


def test_every_option_and_argument_has_help_text():
    missing = [
        f"{path} {param.name}"
        for path, command, _ in _tree()
        for param in command.params
        if not (getattr(param, "help", None) or "").strip()
    ]
    assert missing == []


def test_no_help_page_shows_type_placeholders():
    found = {}
    for path, command, ctx in _tree():
        text = command.get_help(ctx)
        if PLACEHOLDER.search(text):
            found[path] = PLACEHOLDER.search(text).group(0)
    assert found == {}


def test_help_as_run_shows_names_not_types():
    result = subprocess.run(
        [EDGEDOCK, "deploy", "create", "--help"], capture_output=True, text=True, check=True
    )
    assert "--release RELEASE" in result.stdout and "--device DEVICE" in result.stdout
    assert "-o, --output [table|wide|json|yaml]" in result.stdout
    assert "<" not in result.stdout and "--stopped  " in result.stdout


def test_release_file_format_is_in_the_help():
    result = subprocess.run(
        [EDGEDOCK, "releases", "create", "--help"], capture_output=True, text=True, check=True
    )
    for setting in (
        "credentials:",
        "env:",
        "command:",
        "port_bindings:",
        "restart_policy:",
        "binds:",
        "network_mode:",
        "privileged:",
    ):
        assert setting in result.stdout, setting


def test_usage_errors_are_one_line_naming_the_help_to_read():
    for args, said in [
        (["deploy", "create"], "error: Missing option '--release'."),
        (["devices", "list", "-o", "xml"], "error: Invalid value for '--output' / '-o'"),
        (["nosuch"], "error: No such command 'nosuch'."),
    ]:
        result = subprocess.run([EDGEDOCK, *args], capture_output=True, text=True)
        assert result.returncode == 2 and result.stdout == "", args
        (line,) = result.stderr.splitlines()
        assert line.startswith(said) and line.endswith("--help)"), line


def test_a_group_run_bare_shows_its_help():
    result = subprocess.run([EDGEDOCK, "devices"], capture_output=True, text=True)
    assert "reissue-token" in result.stdout + result.stderr


def test_release_file_drops_every_key_the_server_computes():
    """A shown release must stay a release file when the read model grows a field."""
    from edgedock.cli.release_file import READ_ONLY_CONTAINER_KEYS
    from edgedock.releases.schemas import ContainerCreate, ContainerRead

    computed = set(ContainerRead.model_fields) - set(ContainerCreate.model_fields)
    assert computed <= set(READ_ONLY_CONTAINER_KEYS)

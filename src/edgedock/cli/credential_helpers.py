"""The docker credential-helper protocol, as the docker CLI speaks it.

``docker-credential-<name> get`` reads the server URL on stdin and prints
``{"ServerURL", "Username", "Secret"}``; ``list`` prints ``{server URL: user name}``. The helper
is given nothing secret: no password is in its argv or environment (it holds them, we ask).
"""

from __future__ import annotations

import re
import shutil
import subprocess

from edgedock.cli.auth_files import AuthFileError, Login, helper_list_reply, helper_reply
from edgedock.text import has_control_chars, truncate

_HELPER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
TIMEOUT_SECONDS = 30.0  # keychain helpers may wait for an unlock prompt; not forever


class HelperFailed(Exception):
    """A helper could not give a login; the message says why and is safe to print."""


def helper_program(name: str) -> str:
    if not _HELPER_NAME.fullmatch(name):
        raise HelperFailed(f"credential helper name {name!r} is not a plain program name")
    return f"docker-credential-{name}"


def get(name: str, server_url: str) -> Login:
    """The login the helper holds for ``server_url``."""
    stdout = _run(name, "get", server_url)
    try:
        return helper_reply(stdout)
    except AuthFileError as exc:
        raise HelperFailed(f"{helper_program(name)}: {exc}") from None


def list_servers(name: str) -> dict[str, str]:
    """The server URLs the helper holds logins for (server URL → user name)."""
    stdout = _run(name, "list", "")
    try:
        return helper_list_reply(stdout)
    except AuthFileError as exc:
        raise HelperFailed(f"{helper_program(name)}: {exc}") from None


def _run(name: str, action: str, stdin: str) -> str:
    program = helper_program(name)
    path = shutil.which(program)
    if path is None:
        raise HelperFailed(f"credential helper {program} is not installed (not on PATH)")
    try:
        # The program is docker-credential-<plain name> found on PATH, as the docker CLI runs it.
        done = subprocess.run(  # noqa: S603
            [path, action],
            input=stdin.encode(),
            capture_output=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise HelperFailed(
            f"{program} {action} gave no answer within {TIMEOUT_SECONDS:.0f} s"
        ) from None
    except OSError as exc:
        raise HelperFailed(f"{program} cannot run: {exc.strerror or type(exc).__name__}") from None
    if done.returncode != 0:
        raise HelperFailed(f"{program} {action} failed: {_said(done)}")
    return done.stdout.decode("utf-8", "replace")


def _said(done: subprocess.CompletedProcess[bytes]) -> str:
    """The helper's own first line of complaint (helpers print errors on stdout)."""
    for stream in (done.stdout, done.stderr):
        for line in stream.decode("utf-8", "replace").splitlines():
            line = line.strip()
            if line and not has_control_chars(line):
                return truncate(line, 200)
    return f"exit status {done.returncode}"

"""Release files for `edgedock releases create --file`: YAML or JSON, one format for both.

FORMAT is what `--help` and the README show. A file printed by `releases show -o yaml` (or
`-o json`) is a valid release file: the keys the server computes are dropped on the way in, so
a shown release can be edited and created again as a new version.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from edgedock.cli.output import fail

FORMAT = """\
A release file is YAML or JSON (JSON is YAML too):

\b
  version: 1.2.0                  # optional when --version is given; --version wins
  containers:                     # 1 to 50, started in this order
    - name: web                   # a DNS label, unique in the release
      image: ghcr.io/acme/web:1.2.0
      credentials: Internal Registry   # label or id of image credentials (optional)
      env: {LOG_LEVEL: info, PORT: 8080}   # numbers and booleans become text
      command: [serve, --port, "80"]       # optional: the image's own when left out
      port_bindings: ["8080:80/tcp", "127.0.0.1:9000:9000"]
      restart_policy: unless-stopped       # no (default), always, unless-stopped, on-failure
      binds: ["/srv/web:/var/lib/web:ro"]
      network_mode: bridge                 # bridge, host, none or a network's name
      privileged: false

`image_credentials_id: ID` works in place of `credentials`."""

# Keys of a shown release that the server computes: dropped so that a shown release can be
# created again (the way to rotate credentials).
READ_ONLY_CONTAINER_KEYS = ("id", "image_canonical", "registry", "image_credentials", "brokered")
READ_ONLY_RELEASE_KEYS = ("id", "application", "application_id", "created_at", "created_by")


def load(file: str) -> dict[str, Any]:
    """The document in `file` (`-` for stdin) as `{"version"?, "containers": [...]}`."""
    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror}")
    except UnicodeDecodeError:
        fail(f"{file} is not UTF-8 text")
    document = _parse(file, text)
    if not isinstance(document, dict) or not isinstance(document.get("containers"), list):
        fail(f"{file} must hold a mapping with a list of containers: containers: [...]")
    version = document.get("version")
    if version is not None and not isinstance(version, str):
        fail(f'{file}: version must be text: quote it, version: "{version}"')
    return {
        "version": version,
        "containers": [_container(c) for c in document["containers"]],
    }


def _parse(file: str, text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        pass
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}" if where is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        fail(f"{file} is neither JSON nor YAML{at}: {problem}")


def _container(container: Any) -> Any:
    if not isinstance(container, dict):
        return container  # the server names the field that is wrong
    container = {k: v for k, v in container.items() if k not in READ_ONLY_CONTAINER_KEYS}
    env = container.get("env")
    if isinstance(env, dict):
        container["env"] = {k: _text(v) for k, v in env.items()}
    return container


def _text(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value

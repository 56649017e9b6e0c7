"""The agent's wheel, built by the server from the code it runs, for devices to install from it.

Why the server zips its own installed package rather than running a build tool: a server
installed from a wheel has no source tree to build from, and one installed from a checkout
would need setuptools (absent from a fresh venv) or the network at start-up. The installed
package is the same source in every case, so the wheel is exactly the code that serves it,
versioned as the server is (`importlib.metadata`), its dependencies and extras copied from the
installed metadata (`pip install 'edgedock[agent] @ URL'` then fetches the agent's few from
PyPI). The zip is deterministic (sorted entries, fixed timestamps): replicas of one version
serve the same bytes, so a hash taken from one holds on all.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import importlib.metadata
import io
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path

import edgedock

DISTRIBUTION = "edgedock"
TAG = "py3-none-any"
_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry


@dataclass(frozen=True)
class AgentWheel:
    filename: str
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def server_version() -> str:
    return importlib.metadata.version(DISTRIBUTION)


def wheel_filename(version: str | None = None) -> str:
    """``edgedock-0.1.0-py3-none-any.whl``; a `-` in a version becomes `_`, as wheels spell it."""
    return f"{DISTRIBUTION}-{(version or server_version()).replace('-', '_')}-{TAG}.whl"


_build_lock = threading.Lock()


def current_wheel() -> AgentWheel:
    """The wheel of the running code, built on first use and kept for the process's life."""
    with _build_lock:  # requests arriving together wait for one build
        return _built()


@functools.cache
def _built() -> AgentWheel:
    distribution = importlib.metadata.distribution(DISTRIBUTION)
    return build_wheel(
        Path(edgedock.__file__).parent,
        version=distribution.version,
        metadata=distribution.read_text("METADATA") or "",
        entry_points=distribution.read_text("entry_points.txt") or "",
    )


def build_wheel(package: Path, *, version: str, metadata: str, entry_points: str) -> AgentWheel:
    """A pure-Python wheel of the folder ``package`` (compiled and hidden files left out)."""
    dist_info = f"{DISTRIBUTION}-{version.replace('-', '_')}.dist-info"
    entries = [(name, path.read_bytes()) for name, path in _package_files(package)]
    entries += [
        (f"{dist_info}/METADATA", metadata.encode()),
        (f"{dist_info}/WHEEL", _wheel_file().encode()),
        (f"{dist_info}/entry_points.txt", entry_points.encode()),
        (f"{dist_info}/top_level.txt", f"{package.name}\n".encode()),
    ]
    record = "".join(f"{name},{_record_hash(data)},{len(data)}\n" for name, data in entries)
    entries.append((f"{dist_info}/RECORD", f"{record}{dist_info}/RECORD,,\n".encode()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return AgentWheel(wheel_filename(version), buffer.getvalue())


def _package_files(package: Path) -> list[tuple[str, Path]]:
    found = []
    for path in sorted(package.rglob("*")):
        relative = path.relative_to(package.parent)
        if not path.is_file() or path.suffix in (".pyc", ".pyo"):
            continue
        if any(part == "__pycache__" or part.startswith(".") for part in relative.parts):
            continue
        found.append((relative.as_posix(), path))
    return found


def _wheel_file() -> str:
    return f"Wheel-Version: 1.0\nGenerator: edgedock\nRoot-Is-Purelib: true\nTag: {TAG}\n"


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"

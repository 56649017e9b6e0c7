"""One `edgedock serve` per SQLite file: the second is refused at start-up with one line."""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
from pathlib import Path

import pytest

from edgedock.config import Settings
from edgedock.errors import ConfigurationError
from edgedock.server import instance_lock
from tests.support.live_server import EDGEDOCK, free_port


def test_second_lock_on_one_sqlite_file_is_refused(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")  # type: ignore[call-arg]
    first = instance_lock.acquire(settings)
    assert first is not None
    try:
        with pytest.raises(ConfigurationError, match="another edgedock serve is already using"):
            instance_lock.acquire(settings)
    finally:
        first.close()
    again = instance_lock.acquire(settings)  # the lock ends with its holder
    assert again is not None
    again.close()


def test_postgresql_takes_no_lock(tmp_path: Path) -> None:
    settings = Settings(  # type: ignore[call-arg]
        data_dir=tmp_path, database_url="postgresql://postgres@127.0.0.1:5432/x"
    )
    assert instance_lock.acquire(settings) is None


def test_second_serve_on_one_sqlite_file_exits_with_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGEDOCK_")}
    env.update(
        EDGEDOCK_DATA_DIR=str(tmp_path / "data"),
        EDGEDOCK_SECRET_KEYS="k1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
        EDGEDOCK_PORT=str(free_port()),
    )
    settings = Settings(data_dir=tmp_path / "data")  # type: ignore[call-arg]
    held = instance_lock.acquire(settings)  # what a running server holds
    try:
        result = subprocess.run(
            [EDGEDOCK, "serve"], env=env, capture_output=True, text=True, timeout=60
        )
    finally:
        assert held is not None
        held.close()
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: another edgedock serve is already using the SQLite")
    assert "edgedock.db" in lines[0]

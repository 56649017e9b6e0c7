"""Key commands, the key file and the data dir, as an admin meets them on the command line."""

from __future__ import annotations

import asyncio
import os
import resource
import stat
import subprocess
from pathlib import Path

import httpx
import pytest

from edgedock import crypto
from edgedock.actors import Actor
from edgedock.credentials import service as credential_service
from edgedock.credentials.schemas import CredentialCreate
from edgedock.db import Database
from tests.conftest import BACKENDS, create_database, drop_database
from tests.support.live_server import EDGEDOCK, free_port


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGEDOCK_")}
    env["EDGEDOCK_DATA_DIR"] = str(tmp_path / "data")
    env.update(extra)
    return env


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The `edgedock` command in this process (a new interpreter costs seconds per call).

    The command sets the process's umask (admin commands make files owner-only): restored.
    """
    from typer.testing import CliRunner

    from edgedock.cli.main import app

    clean = dict.fromkeys((k for k in os.environ if k.startswith("EDGEDOCK_")), None)
    umask = os.umask(0o022)
    os.umask(umask)
    try:
        result = CliRunner().invoke(app, list(args), env={**clean, **env})
    finally:
        os.umask(umask)
    assert not isinstance(result.exception, AssertionError | TypeError), result.exception
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


def _serve(env: dict[str, str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EDGEDOCK, "serve"], env=env, capture_output=True, text=True, timeout=60, **kwargs
    )


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    # `serve` may have logged its start-up (INFO) before; the error itself is one line, last.
    assert len(errors) == 1 and lines[-1] == errors[0], result.stderr
    return errors[0]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def sqlite_env(tmp_path: Path) -> dict[str, str]:
    """A configured (not embedded) SQLite database, migrated, and no keys yet."""
    url = create_database("sqlite", tmp_path)
    return _env(tmp_path, EDGEDOCK_DATABASE_URL=url)


def test_key_rotation_on_a_key_file_without_final_newline_puts_each_key_on_its_line(
    sqlite_env, tmp_path
):
    assert _run(sqlite_env, "keys", "init").returncode == 0
    key_file = tmp_path / "data" / "secret-keys"
    assert _mode(key_file) == 0o600
    key_file.write_text(key_file.read_text().rstrip("\n"))
    assert _run(sqlite_env, "tenants", "create", "rot").returncode == 0
    rotated = _run(sqlite_env, "keys", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    assert "re-encrypted 1 secret(s) with key k2" in rotated.stderr
    lines = key_file.read_text().splitlines()
    assert [line.split(":")[0] for line in lines] == ["k1", "k2"]
    assert _mode(key_file) == 0o600
    assert not list(key_file.parent.glob("*.tmp")), "no temporary file is left behind"
    assert _run(sqlite_env, "keys", "retire", "k1").returncode == 0
    assert list(crypto.FileKeyStore(key_file).load()) == ["k2"]


@pytest.mark.parametrize("command", [["rotate"], ["retire", "k1"]])
def test_key_commands_without_a_key_file_fail_in_one_line(sqlite_env, command):
    line = _one_line_error(_run(sqlite_env, "keys", *command))
    assert "does not exist" in line and "edgedock keys init" in line


def test_configured_database_without_keys_says_to_run_keys_init(sqlite_env):
    line = _one_line_error(_run(sqlite_env, "tenants", "create", "nokeys"))
    assert "edgedock keys init" in line


def test_empty_key_file_is_named_with_the_fix_and_keys_init_repairs_it(sqlite_env, tmp_path):
    key_file = tmp_path / "data" / "secret-keys"
    key_file.parent.mkdir()
    key_file.write_text("")
    line = _one_line_error(_run(sqlite_env, "tenants", "create", "empty"))
    assert f"{key_file} is empty" in line and "edgedock keys init" in line
    assert _run(sqlite_env, "keys", "init").returncode == 0
    assert list(crypto.FileKeyStore(key_file).load()) == ["k1"]


def _small_file_limit() -> None:
    # A real write failure from the kernel (EFBIG) for any file over 16 bytes: the disk is
    # "full" for the key file. Python ignores SIGXFSZ, so the write fails instead of killing.
    resource.setrlimit(resource.RLIMIT_FSIZE, (16, 16))


def test_failed_first_start_leaves_no_key_file(tmp_path):
    env = _env(tmp_path)
    result = _serve(env, preexec_fn=_small_file_limit)  # no threads in the child yet
    line = _one_line_error(result)
    assert "cannot write secret key file" in line
    left = [n for n in os.listdir(tmp_path / "data") if n.startswith("secret-keys")]
    assert left == [], "no key file, empty or partial, is left"


def test_fresh_embedded_start_makes_data_dir_0700_and_its_files_0600(tmp_path):
    port = free_port()
    env = _env(tmp_path, EDGEDOCK_PORT=str(port))
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen([EDGEDOCK, "serve"], env=env, stdout=out, stderr=out)
    try:
        _wait_for(f"http://127.0.0.1:{port}/healthz", process, log)
        data = tmp_path / "data"
        assert _mode(data) == 0o700
        files = sorted(p.name for p in data.iterdir())
        assert {"edgedock.db", "secret-keys"} <= set(files), files
        assert {name: _mode(data / name) for name in files} == dict.fromkeys(files, 0o600)
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_embedded_start_tightens_a_data_dir_left_readable(tmp_path):
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    database = data / "edgedock.db"
    database.touch()
    database.chmod(0o644)
    from edgedock.config import Settings
    from edgedock.server.bootstrap import make_private_data_dir

    make_private_data_dir(Settings(data_dir=data))
    assert (_mode(data), _mode(database)) == (0o700, 0o600)


@pytest.mark.parametrize("backend", BACKENDS)
def test_start_with_a_missing_credentials_key_is_refused_naming_it(backend, tmp_path):
    url = create_database(backend, tmp_path)
    k1 = crypto.format_key("k1", crypto.generate_key())
    k2 = crypto.format_key("k2", crypto.generate_key())
    env = _env(tmp_path, EDGEDOCK_DATABASE_URL=url, EDGEDOCK_SECRET_KEYS=k1)
    try:
        token_tenant = _run(env, "tenants", "create", "keyed")
        assert token_tenant.returncode == 0, token_tenant.stderr
        # Credentials sealed under k2, which the server's keyring below does not have.
        asyncio.run(_credentials_sealed_with(url, f"{k1},{k2}"))
        line = _one_line_error(_serve(env))
        assert "'k2'" in line and "not in the keyring" in line
    finally:
        drop_database(url)


async def _credentials_sealed_with(url: str, keys: str) -> None:
    from edgedock.tenants import service as tenant_service

    database = Database.connect(url)
    keyring = crypto.Keyring(crypto.EnvKeyStore(keys))
    try:
        async with database.transaction() as session:
            tenant = await tenant_service.get_by_slug(session, slug="keyed")
            await credential_service.create(
                session,
                actor=Actor(tenant_id=tenant.id, name="token:test"),
                keyring=keyring,
                data=CredentialCreate(label="k2-creds", username="u", password="pw"),  # type: ignore[arg-type]
            )
    finally:
        await database.dispose()


def _wait_for(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    for _ in range(300):
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        subprocess.run(["sleep", "0.1"], check=True)
    raise AssertionError(log.read_text())

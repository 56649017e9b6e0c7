"""`edgedock credentials import` of files written by the real `docker login` and `podman login`.

The Docker Engine (dockerd), the Debian registry and a live `edgedock serve` are real; the one
stand-in is ``docker-credential-edgedocktest``, a credential helper written by the test that
keeps its logins in a JSON file and records its own argv and environment, so the test can show
that no password reaches a helper that way.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import factories
from tests.conftest import BACKENDS, create_database, drop_database
from tests.support.docker_engine import DockerEngineInfo, docker_login
from tests.support.engine import write_engine_config
from tests.support.fixtures import (
    RegistryCredentials,
    docker_engine,
    registry,
    registry_credentials,
)
from tests.support.live_server import EDGEDOCK, LiveServer, running_server, server_env
from tests.support.registry import RegistryInfo

__all__ = ["docker_engine", "registry", "registry_credentials"]  # fixtures, for pytest

pytestmark = pytest.mark.real_engine

HELPER = "edgedocktest"
HELPER_SCRIPT = """#!{python}
# Stands in for a credential helper (docker-credential-desktop, -ecr-login…): same protocol.
import json, pathlib, sys
store_path, log_path = pathlib.Path({store!r}), pathlib.Path({log!r})
with log_path.open("ab") as log:
    for name in ("cmdline", "environ"):
        log.write(pathlib.Path("/proc/self/" + name).read_bytes() + b"\\n")
store = json.loads(store_path.read_text()) if store_path.exists() else {{}}
action, given = sys.argv[1], sys.stdin.read()
if action == "store":
    item = json.loads(given)
    store[item["ServerURL"]] = {{"Username": item["Username"], "Secret": item["Secret"]}}
    store_path.write_text(json.dumps(store))
elif action == "get":
    if given.strip() not in store:
        print("credentials not found in native keychain")
        sys.exit(1)
    print(json.dumps(dict(ServerURL=given.strip(), **store[given.strip()])))
elif action == "list":
    print(json.dumps({{url: item["Username"] for url, item in store.items()}}))
elif action == "erase":
    store.pop(given.strip(), None)
    store_path.write_text(json.dumps(store))
"""


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """A live server that may check loopback registries over plain HTTP (to prove the logins)."""
    folder = tmp_path_factory.mktemp(f"import-{request.param}")
    url = create_database(request.param, folder)
    env = {**server_env(folder / "server", url), "EDGEDOCK_INSECURE_REGISTRIES": "localhost"}
    try:
        with running_server(folder / "server", url, env=env) as live:
            yield live
    finally:
        drop_database(url)


def import_cli(
    server: LiveServer, home: Path, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    """The CLI with nothing of this machine's own auth files in sight: a fresh HOME."""
    base = {
        k: v
        for k, v in server.env.items()
        if k not in ("DOCKER_CONFIG", "REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR")
    }
    full = {
        **base,
        "HOME": str(home),
        "EDGEDOCK_URL": server.url,
        "EDGEDOCK_TOKEN": server.admin_token,
        **env,
    }
    return subprocess.run(
        [EDGEDOCK, "credentials", "import", *args],
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def rows(done: subprocess.CompletedProcess[str]) -> dict[str, dict[str, str]]:
    assert done.returncode == 0, done.stderr
    return {row["source"]: row for row in json.loads(done.stdout)}


def credentials_labelled(server: LiveServer, label: str) -> dict[str, str]:
    with server.api() as api:
        items = api.get("/api/v1/image-credentials", params={"q": label}).json()["items"]
    [item] = [item for item in items if item["label"] == label]
    return item


def check_ok(server: LiveServer, credential_id: str) -> None:
    """The registry accepts what was imported: the password was decoded right."""
    with server.api() as api:
        result = api.post(f"/api/v1/image-credentials/{credential_id}/check", json={}).json()
    assert result["ok"], result


def test_a_real_docker_login_imports_bound_to_its_registry(
    server: LiveServer,
    docker_engine: DockerEngineInfo,
    registry: RegistryInfo,
    registry_credentials: RegistryCredentials,
    tmp_path: Path,
) -> None:
    config = tmp_path / "docker-config"
    config.mkdir()
    env = dict(docker_engine.env, DOCKER_CONFIG=str(config))
    docker_login(env, registry.host, registry_credentials.username, registry_credentials.password)
    written = json.loads((config / "config.json").read_text())
    assert "auth" in written["auths"][registry.host]  # no helper: the login is in the file

    table = import_cli(server, tmp_path, "--label-prefix", "docker ", DOCKER_CONFIG=str(config))
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[0].split() == ["LABEL", "REGISTRY", "USERNAME", "OUTCOME"]
    assert f"docker {registry.host}" in table.stdout and "created" in table.stdout
    assert str(config / "config.json") in table.stderr

    created = credentials_labelled(server, f"docker {registry.host}")
    assert created["registry"] == registry.host
    assert created["username"] == registry_credentials.username
    check_ok(server, created["id"])
    secret = registry_credentials.password
    assert secret not in table.stdout + table.stderr + server.log()


def test_a_real_podman_login_imports_and_a_second_import_skips_or_replaces(
    server: LiveServer,
    registry: RegistryInfo,
    registry_credentials: RegistryCredentials,
    tmp_path: Path,
) -> None:
    podman_env = write_engine_config(tmp_path / "podman", [registry.host], storage_driver="vfs")
    authfile = tmp_path / "auth.json"
    subprocess.run(
        [
            *("podman", "login", "--authfile", str(authfile), "--tls-verify=false"),
            *("--username", registry_credentials.username, "--password-stdin", registry.host),
        ],
        env=podman_env,
        input=registry_credentials.password.encode(),
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert registry.host in json.loads(authfile.read_text())["auths"]
    found = {"REGISTRY_AUTH_FILE": str(authfile)}
    prefix = ("--label-prefix", "podman ", "-o", "json")
    label = f"podman {registry.host}"

    dry = rows(import_cli(server, tmp_path, *prefix, "--dry-run", **found))
    assert dry[registry.host]["outcome"] == "would create"
    with server.api() as api:
        labels = [c["label"] for c in api.get("/api/v1/image-credentials").json()["items"]]
    assert label not in labels

    first = rows(import_cli(server, tmp_path, *prefix, **found))[registry.host]
    assert (first["outcome"], first["registry"], first["username"]) == (
        "created",
        registry.host,
        registry_credentials.username,
    )
    check_ok(server, first["id"])

    again = rows(import_cli(server, tmp_path, *prefix, **found))[registry.host]
    assert again["outcome"] == "skipped" and "label exists" in again["reason"]

    replaced = rows(import_cli(server, tmp_path, *prefix, "--replace-label", **found))
    assert replaced[registry.host]["outcome"] == "replaced"
    new = credentials_labelled(server, label)
    assert new["id"] == replaced[registry.host]["id"] != first["id"]


def test_tokens_and_unusable_entries_are_listed_as_skipped(
    server: LiveServer, tmp_path: Path
) -> None:
    token = factories.unique_password("identity")
    good = factories.unique_password("file")
    config = tmp_path / "config.json"
    auth = base64.b64encode(f"ci:{good}".encode()).decode()
    config.write_text(
        json.dumps(
            {
                "auths": {
                    "https://index.docker.io/v1/": {"auth": auth},
                    "ghcr.io": {"auth": "", "identitytoken": token},
                    "registry.example": {"registrytoken": token},
                    "empty.example": {},
                }
            }
        )
    )
    done = import_cli(
        server, tmp_path, "--file", str(config), "--label-prefix", "tok ", "-o", "json"
    )
    found = rows(done)
    assert found["https://index.docker.io/v1/"]["registry"] == "docker.io"
    assert found["https://index.docker.io/v1/"]["outcome"] == "created"
    assert credentials_labelled(server, "tok docker.io")["registry"] == "docker.io"
    assert "identity token" in found["ghcr.io"]["reason"]
    assert "registry bearer token" in found["registry.example"]["reason"]
    assert "no auth" in found["empty.example"]["reason"]
    for secret in (token, good):
        assert secret not in done.stdout + done.stderr + server.log()


def test_credential_helpers_are_asked_like_the_docker_cli_asks_them(
    server: LiveServer,
    docker_engine: DockerEngineInfo,
    registry: RegistryInfo,
    registry_credentials: RegistryCredentials,
    tmp_path: Path,
) -> None:
    bin_dir, store, log = tmp_path / "bin", tmp_path / "store.json", tmp_path / "helper.log"
    bin_dir.mkdir()
    helper = bin_dir / f"docker-credential-{HELPER}"
    helper.write_text(HELPER_SCRIPT.format(python=sys.executable, store=str(store), log=str(log)))
    helper.chmod(0o755)
    other_secret = factories.unique_password("helper")
    identity = factories.unique_password("identity")
    store.write_text(
        json.dumps(
            {
                "other.example:5000": {"Username": "robot", "Secret": other_secret},
                "ghcr.io": {"Username": "<token>", "Secret": identity},
            }
        )
    )
    config = tmp_path / "docker-config"
    config.mkdir()
    (config / "config.json").write_text(
        json.dumps({"credsStore": HELPER, "credHelpers": {"missing.example": "nosuchhelper"}})
    )
    path = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
    env = dict(docker_engine.env, DOCKER_CONFIG=str(config), PATH=path)
    # The real docker CLI hands the login to the helper (`store`), not to config.json.
    docker_login(env, registry.host, registry_credentials.username, registry_credentials.password)
    assert "auth" not in json.loads((config / "config.json").read_text())["auths"][registry.host]
    assert registry.host in json.loads(store.read_text())

    done = import_cli(
        server,
        tmp_path,
        "--label-prefix",
        "helper ",
        "-o",
        "json",
        DOCKER_CONFIG=str(config),
        PATH=path,
    )
    found = rows(done)
    assert found[registry.host]["outcome"] == "created"
    assert found[registry.host]["username"] == registry_credentials.username
    check_ok(server, credentials_labelled(server, f"helper {registry.host}")["id"])
    assert found["other.example:5000"]["outcome"] == "created"
    assert found["other.example:5000"]["registry"] == "other.example:5000"
    assert "identity token" in found["ghcr.io"]["reason"]
    assert "docker-credential-nosuchhelper is not installed" in found["missing.example"]["reason"]

    secrets_planted = (registry_credentials.password, other_secret, identity)
    helper_saw = log.read_bytes()
    assert b"\x00get" in helper_saw and b"\x00list" in helper_saw
    for secret in secrets_planted:
        assert secret not in done.stdout + done.stderr + server.log()
        assert secret.encode() not in helper_saw  # not in any helper's argv or environment


def test_a_missing_or_broken_file_is_one_line_on_stderr(server: LiveServer, tmp_path: Path) -> None:
    missing = import_cli(server, tmp_path)
    assert missing.returncode == 1
    assert missing.stderr.startswith("error: no docker or podman auth file found")
    broken = tmp_path / "broken.json"
    broken.write_text('{"auths": {"r": {"auth": "planted-broken-secret"')
    done = import_cli(server, tmp_path, "--file", str(broken))
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0 and "is not JSON" in done.stderr
    assert "planted-broken-secret" not in done.stderr + done.stdout


def test_replace_label_keeps_credentials_a_release_needs_and_says_why(
    server: LiveServer, tmp_path: Path
) -> None:
    old_password, new_password = factories.unique_password("old"), factories.unique_password()
    with server.api() as api:
        old = api.post(
            "/api/v1/image-credentials",
            json={"label": "inuse my.example", "username": "u", "password": old_password},
        ).json()
        app = api.post("/api/v1/applications", json={"name": "import-inuse"}).json()
        release = api.post(
            f"/api/v1/applications/{app['id']}/releases",
            json={
                "version": "1.0.0",
                "containers": [
                    factories.container("web", "my.example/a/web:1", image_credentials_id=old["id"])
                ],
            },
        )
        assert release.status_code == 201, release.text
    config = tmp_path / "config.json"
    auth = base64.b64encode(f"u:{new_password}".encode()).decode()
    config.write_text(json.dumps({"auths": {"my.example": {"auth": auth}}}))
    args = ("--file", str(config), "--label-prefix", "inuse ", "--replace-label", "-o", "json")
    done = import_cli(server, tmp_path, *args)
    row = rows(done)["my.example"]
    assert row["outcome"] == "skipped"
    assert "cannot be replaced" in row["reason"] and "used by" in row["reason"]
    assert credentials_labelled(server, "inuse my.example")["id"] == old["id"]
    assert new_password not in done.stdout + done.stderr + server.log()


def test_an_entry_the_server_refuses_is_failed_and_exits_1(
    server: LiveServer, tmp_path: Path
) -> None:
    password = factories.unique_password()
    config = tmp_path / "config.json"
    auth = base64.b64encode(f"u:{password}".encode()).decode()
    config.write_text(json.dumps({"auths": {"long.example": {"auth": auth}}}))
    done = import_cli(server, tmp_path, "--file", str(config), "--label-prefix", "x" * 120)
    assert done.returncode == 1
    [row] = done.stdout.splitlines()[1:]
    assert "failed:" in row and "label" in row
    assert password not in done.stdout + done.stderr + server.log()

"""`edgedock credentials check ID [--image REF]` against a real server and the real registries."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.conftest import BACKENDS, create_database, drop_database
from tests.credentials.conftest import LOOPBACK
from tests.support.live_server import LiveServer, running_server, server_env


@pytest.fixture(scope="module", params=BACKENDS)
def checking_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """A real `edgedock serve` that may speak plain HTTP to loopback registries."""
    folder = tmp_path_factory.mktemp(f"check-cli-{request.param}")
    url = create_database(request.param, folder)
    env = {**server_env(folder / "server", url), "EDGEDOCK_INSECURE_REGISTRIES": LOOPBACK}
    try:
        with running_server(folder / "server", url, env=env) as server:
            yield server
    finally:
        drop_database(url)


def _create(server: LiveServer, label: str, username: str, password: str) -> str:
    done = server.cli(
        "credentials",
        "create",
        "--label",
        label,
        "--username",
        username,
        "--password-stdin",
        input=password,
        check=True,
    )
    return done.stdout.strip()


def test_check_prints_the_outcome_and_exits_0(checking_server, basic_registry):
    password = basic_registry.users["deployer"]
    credential_id = _create(checking_server, "cli-ok", "deployer", password)
    done = checking_server.cli(
        "credentials", "check", credential_id, "--image", basic_registry.image
    )
    assert done.returncode == 0, done.stderr
    assert "status" in done.stdout and " ok" in done.stdout
    assert password not in done.stdout + done.stderr + checking_server.log()
    listing = checking_server.cli("credentials", "list", "-q", "cli-ok", check=True).stdout
    assert listing.splitlines()[1].split()[-1] == "ok"


def test_check_refused_exits_1_with_one_line_on_stderr(checking_server, basic_registry):
    credential_id = _create(checking_server, "cli-wrong", "deployer", "not-the-password")
    done = checking_server.cli(
        "credentials", "check", credential_id, "--image", basic_registry.image
    )
    assert done.returncode == 1
    (line,) = done.stderr.splitlines()
    assert line.startswith("error: unauthorized:") and "authentication required" in line


def test_check_json_and_push_warning(checking_server, bearer_registry):
    credential_id = _create(
        checking_server, "cli-pusher", "pusher", bearer_registry.users["pusher"]
    )
    done = checking_server.cli(
        "credentials", "check", credential_id, "--image", bearer_registry.image, "-o", "json"
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["can_push"] is True
    assert "devices only need pull" in done.stderr


def test_check_without_image_or_use_fails_naming_the_option(checking_server):
    credential_id = _create(checking_server, "cli-unused", "u", "p")
    done = checking_server.cli("credentials", "check", credential_id)
    assert done.returncode == 1
    assert "give the image" in done.stderr and "check_needs_image" in done.stderr

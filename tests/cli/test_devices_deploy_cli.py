"""`edgedock devices …` and `edgedock deploy …` against a running server."""

from __future__ import annotations

import json
import stat

from tests import factories


def _release(live_server, name):
    with live_server.api() as api:
        app = api.post("/api/v1/applications", json={"name": name}).json()
        v1 = api.post(
            f"/api/v1/applications/{app['id']}/releases",
            json={"version": "1.0.0", "containers": [factories.container("web", "busybox:1.36")]},
        ).json()
        v2 = api.post(
            f"/api/v1/applications/{app['id']}/releases",
            json={"version": "1.1.0", "containers": [factories.container("web", "busybox:1.37")]},
        ).json()
    return v1, v2


def test_devices_create_writes_token_file_owner_only(live_server, tmp_path):
    token_file = tmp_path / "device.token"
    result = live_server.cli(
        "devices", "create", "--name", "cli-gw-file", "--token-file", str(token_file)
    )
    assert result.returncode == 0, result.stderr
    token = token_file.read_text().strip()
    assert token.startswith("edd_") and token not in result.stdout + result.stderr
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    with live_server.api(token) as agent:
        assert agent.get("/device/v1/ping").status_code == 204
    listed = live_server.cli("devices", "list", "-q", "cli-gw-file", check=True).stdout
    assert "cli-gw-file" in listed and "yes" in listed.splitlines()[1]


def test_deploy_lifecycle_from_the_cli(live_server):
    v1, v2 = _release(live_server, "cli-deploy-app")
    device = json.loads(
        live_server.cli("devices", "create", "--name", "cli-gw", "-o", "json", check=True).stdout
    )
    deployment_id = live_server.cli(
        "deploy", "create", "--release", v1["id"], "--device", device["id"], check=True
    ).stdout.strip()
    shown = live_server.cli("deploy", "show", deployment_id, check=True).stdout
    assert "cli-deploy-app@1.0.0" in shown and "pending" in shown
    assert "stopped" in live_server.cli("deploy", "stop", deployment_id, check=True).stdout
    upgraded = live_server.cli(
        "deploy", "upgrade", deployment_id, "--release", v2["id"], check=True
    )
    assert "1.1.0" in upgraded.stdout
    again = live_server.cli("deploy", "create", "--release", v2["id"], "--device", device["id"])
    assert again.returncode == 1 and "already deployed" in again.stderr
    events = live_server.cli("deploy", "events", deployment_id, check=True).stdout
    assert "upgrade_requested" in events and "deployed" in events
    listed = live_server.cli("deploy", "list", "--device", device["id"], check=True).stdout
    assert deployment_id in listed
    assert live_server.cli("deploy", "delete", deployment_id).returncode == 0
    missing = live_server.cli("deploy", "show", deployment_id)
    assert missing.returncode == 1 and "does not exist" in missing.stderr
    assert live_server.cli("devices", "delete", device["id"]).returncode == 0


def test_deploy_create_to_several_devices_at_once(live_server):
    v1, _ = _release(live_server, "cli-bulk-app")
    ids = [
        json.loads(
            live_server.cli(
                "devices", "create", "--name", f"cli-bulk-{i}", "-o", "json", check=True
            ).stdout
        )["id"]
        for i in range(3)
    ]
    args = [a for d in ids for a in ("--device", d)]
    out = live_server.cli("deploy", "create", "--release", v1["id"], *args, check=True).stdout
    assert len(out.split()) == 3
    again = live_server.cli("deploy", "create", "--release", v1["id"], *args)
    assert again.returncode == 1 and "already deployed" in again.stderr


def test_devices_reissue_token_prints_the_new_one_and_the_old_one_stops(live_server, tmp_path):
    device = json.loads(
        live_server.cli(
            "devices", "create", "--name", "cli-gw-reissue", "-o", "json", check=True
        ).stdout
    )
    with live_server.api(device["token"]) as old:
        assert old.get("/device/v1/ping").status_code == 204
        result = live_server.cli("devices", "reissue-token", device["id"], check=True)
        token = result.stdout.strip()
        assert token.startswith("edd_") and token != device["token"]
        assert "only once" in result.stderr and token not in result.stderr
        assert old.get("/device/v1/ping").status_code == 401
    token_file = tmp_path / "new.token"
    written = live_server.cli(
        "devices", "reissue-token", device["id"], "--token-file", str(token_file), check=True
    )
    assert written.stdout == "" and str(token_file) in written.stderr
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    with live_server.api(token) as previous, live_server.api(token_file.read_text().strip()) as new:
        assert previous.get("/device/v1/ping").status_code == 401
        assert new.get("/device/v1/ping").status_code == 204
    # An existing file is refused before the server is asked: the current token stays valid.
    again = live_server.cli(
        "devices", "reissue-token", device["id"], "--token-file", str(token_file)
    )
    assert again.returncode == 1 and "already exists" in again.stderr
    with live_server.api(token_file.read_text().strip()) as new:
        assert new.get("/device/v1/ping").status_code == 204
    unknown = "00000000-0000-4000-8000-000000000000"
    missing_file = tmp_path / "missing.token"
    missing = live_server.cli(
        "devices", "reissue-token", unknown, "--token-file", str(missing_file)
    )
    assert missing.returncode == 1 and "does not exist" in missing.stderr
    assert not missing_file.exists(), "a refused re-issue leaves no empty token file behind"


def test_deploy_upgrade_from_to_moves_every_deployment_of_a_release(live_server):
    v1, v2 = _release(live_server, "cli-upgrade-many")
    ids = [
        json.loads(
            live_server.cli(
                "devices", "create", "--name", f"cli-up-{i}", "-o", "json", check=True
            ).stdout
        )["id"]
        for i in range(3)
    ]
    args = [a for d in ids for a in ("--device", d)]
    deployments = live_server.cli(
        "deploy", "create", "--release", v1["id"], *args, check=True
    ).stdout.split()
    only = live_server.cli(
        "deploy", "upgrade", "--from", v1["id"], "--to", v2["id"], "--device", ids[0], check=True
    )
    assert only.stdout.split() == [deployments[0]] and "1 deployment(s) upgraded" in only.stderr
    rest = live_server.cli(
        "deploy", "upgrade", "--from", v1["id"], "--to", v2["id"], *args, check=True
    )
    assert sorted(rest.stdout.split()) == sorted(deployments[1:])
    assert "skipped cli-up-0: already runs 1.1.0" in rest.stderr
    as_json = json.loads(
        live_server.cli(
            "deploy", "upgrade", "--from", v1["id"], "--to", v2["id"], "-o", "json", check=True
        ).stdout
    )
    assert as_json == {"upgraded": [], "skipped": []}
    mixed = live_server.cli(
        "deploy", "upgrade", deployments[0], "--from", v1["id"], "--to", v2["id"]
    )
    assert mixed.returncode == 1 and "give DEPLOYMENT with --release" in mixed.stderr
    half = live_server.cli("deploy", "upgrade", "--from", v1["id"])
    assert half.returncode == 1 and "give --from and --to" in half.stderr
    wrong = live_server.cli("deploy", "upgrade", "--from", v2["id"], "--to", v2["id"])
    assert wrong.returncode == 1 and "same release" in wrong.stderr
    assert len(wrong.stderr.strip().splitlines()) == 1

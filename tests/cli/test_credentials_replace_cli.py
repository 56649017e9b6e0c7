"""`edgedock credentials replace` against a running server: the plan as a table and as JSON,
a dry run that changes nothing, one-line errors, and `--version`."""

from __future__ import annotations

import json
import secrets

from tests import factories


def _setup(live_server):
    """Old credentials on release 1.0.0 of a fresh application, deployed on one device."""
    tag = secrets.token_hex(3)
    with live_server.api() as http:

        def post(path: str, body: dict) -> dict:
            response = http.post(f"/api/v1{path}", json=body)
            assert response.status_code == 201, response.text
            return response.json()

        def creds(label: str) -> dict:
            return post(
                "/image-credentials",
                {"label": label, "username": "robot", "password": factories.unique_password()},
            )

        old, new = creds(f"old-{tag}"), creds(f"new-{tag}")
        app = post("/applications", {"name": f"shop-{tag}"})
        release = post(
            f"/applications/{app['id']}/releases",
            {
                "version": "1.0.0",
                "containers": [
                    factories.container("web", "ghcr.io/a/web:1", image_credentials_id=old["id"])
                ],
            },
        )
        device = post("/devices", {"name": f"gw-{tag}"})
        post("/deployments", {"release_id": release["id"], "device_id": device["id"]})
    return old, new, release, device, tag


def test_dry_run_prints_the_plan_and_changes_nothing(live_server):
    old, new, release, _device, tag = _setup(live_server)
    result = live_server.cli("credentials", "replace", old["id"], "--with", new["id"], "--dry-run")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"replace old-{tag} ({old['id']}) with new-{tag} ({new['id']})"
    assert "APPLICATION" in result.stdout and "DEVICE" in result.stdout
    row = next(line for line in lines if release["id"] in line).split()
    assert row[:3] == [f"shop-{tag}", "1.0.0", "1.0.1"]
    assert f"gw-{tag}" in result.stdout
    assert "1 release(s) in 1 application(s), 1 deployment(s)" in result.stdout
    assert "dry run: nothing was changed" in result.stderr
    shown = json.loads(live_server.cli("credentials", "show", old["id"], "-o", "json").stdout)
    assert [u["version"] for u in shown["used_by"]] == ["1.0.0"]


def test_json_output_then_real_run_with_a_given_version(live_server):
    old, new, release, _device, _tag = _setup(live_server)
    result = live_server.cli(
        "credentials",
        "replace",
        old["id"],
        "--with",
        new["id"],
        "--version",
        f"{release['id']}=1.1.0",
        "-o",
        "json",
    )
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    (planned,) = plan["releases"]
    assert (planned["to_version"], plan["dry_run"]) == ("1.1.0", False)
    assert planned["to_release_id"]
    deleted = live_server.cli("credentials", "delete", old["id"])
    assert deleted.returncode == 0, deleted.stderr


def test_errors_are_one_line_on_stderr(live_server):
    old, new, release, _device, _tag = _setup(live_server)
    same = live_server.cli("credentials", "replace", old["id"], "--with", old["id"])
    assert same.returncode == 1 and same.stdout == ""
    assert same.stderr.startswith("error: ") and "same_credentials" in same.stderr
    bad = live_server.cli(
        "credentials", "replace", old["id"], "--with", new["id"], "--version", "x"
    )
    assert bad.returncode == 1 and "RELEASE=VERSION" in bad.stderr
    taken = live_server.cli(
        "credentials",
        "replace",
        old["id"],
        "--with",
        new["id"],
        "--version",
        f"{release['id']}=1.0.0",
    )
    assert taken.returncode == 1 and "version_not_higher" in taken.stderr


def test_replace_help_names_every_option(live_server):
    result = live_server.cli("credentials", "replace", "--help", check=True)
    for option in ("--with", "--dry-run", "--force", "--check", "--version", "--output"):
        assert option in result.stdout

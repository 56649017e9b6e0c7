"""`edgedock registries …` against a running server: create, show, bundle, accounts, delete."""

from __future__ import annotations

import json
import stat

import httpx


def test_registries_lifecycle_from_the_cli(live_server, tmp_path):
    created = live_server.cli(
        "registries", "create", "--host", "cli.registry.example:5000", "-o", "json", check=True
    )
    row = json.loads(created.stdout)
    assert row["realm"] == f"{live_server.url}/registry/v1/{row['id']}/token"
    shown = live_server.cli("registries", "show", "cli.registry.example:5000", check=True).stdout
    assert f'realm: "{row["realm"]}"' in shown and "rootcertbundle:" in shown
    listed = live_server.cli("registries", "list", check=True).stdout
    assert "cli.registry.example:5000" in listed

    bundle = tmp_path / "bundle.pem"
    live_server.cli("registries", "bundle", row["id"], "--file", str(bundle), check=True)
    assert bundle.read_text().count("BEGIN CERTIFICATE") == 2
    printed = live_server.cli("registries", "bundle", "cli.registry.example:5000", check=True)
    assert printed.stdout == bundle.read_text()


def test_registry_account_secret_shown_once_and_revocable(live_server, tmp_path):
    live_server.cli("registries", "create", "--host", "acct.registry.example", check=True)
    secret_file = tmp_path / "ci.secret"
    made = live_server.cli(
        "registries",
        "accounts",
        "create",
        "acct.registry.example",
        "--name",
        "ci",
        "--access",
        "team/*=pull,push",
        "--access",
        "base=pull",
        "--secret-file",
        str(secret_file),
    )
    assert made.returncode == 0, made.stderr
    secret = secret_file.read_text().strip()
    assert secret.startswith("edra_") and secret not in made.stdout + made.stderr
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    listed = live_server.cli("registries", "accounts", "list", "acct.registry.example", check=True)
    assert "team/*=pull,push base=pull" in listed.stdout and secret not in listed.stdout
    row = json.loads(
        live_server.cli(
            "registries", "show", "acct.registry.example", "-o", "json", check=True
        ).stdout
    )
    assert httpx.get(row["realm"], auth=("ci", secret)).status_code == 200
    live_server.cli("registries", "accounts", "delete", "acct.registry.example", "ci", check=True)
    assert httpx.get(row["realm"], auth=("ci", secret)).status_code == 401
    gone = live_server.cli("registries", "delete", "acct.registry.example")
    assert gone.returncode == 0, gone.stderr
    missing = live_server.cli("registries", "show", "acct.registry.example")
    assert missing.returncode == 1 and missing.stderr.startswith("error: ")


def test_bad_access_rule_is_a_one_line_error(live_server):
    live_server.cli("registries", "create", "--host", "bad.registry.example", check=True)
    result = live_server.cli(
        "registries",
        "accounts",
        "create",
        "bad.registry.example",
        "--name",
        "x",
        "--access",
        "no-equals-sign",
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: --access must look like") and result.stdout == ""

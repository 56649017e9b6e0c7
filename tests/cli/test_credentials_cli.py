"""`edgedock credentials …` against a running server, as an operator types it."""

from __future__ import annotations

import json

from tests import factories


def test_credentials_create_reads_password_from_stdin_and_prints_id(live_server):
    password = factories.unique_password()
    result = live_server.cli(
        "credentials",
        "create",
        "--label",
        "Docker Hub",
        "--username",
        "me",
        "--password-stdin",
        input=password + "\n",
    )
    assert result.returncode == 0, result.stderr
    credential_id = result.stdout.strip()
    with live_server.api() as api:
        body = api.get(f"/api/v1/image-credentials/{credential_id}").json()
    assert body["label"] == "Docker Hub"
    assert password not in result.stdout + result.stderr


def test_credentials_create_without_password_stdin_fails(live_server):
    result = live_server.cli("credentials", "create", "--label", "x", "--username", "u")
    assert result.returncode != 0
    assert "--password-stdin" in result.stderr


def test_credentials_list_shows_table_with_fingerprint(live_server):
    for label in ["ListBeta", "ListAlpha"]:
        live_server.cli(
            "credentials",
            "create",
            "--label",
            label,
            "--username",
            "u",
            "--password-stdin",
            input=f"pw-{label}",
            check=True,
        )
    result = live_server.cli("credentials", "list", "-q", "list", check=True)
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "ID",
        "LABEL",
        "USERNAME",
        "REGISTRY",
        "FINGERPRINT",
        "KIND",
        "EXPIRES",
        "USED",
        "CHECK",
    ]
    assert [line.split()[1] for line in lines[1:]] == ["ListAlpha", "ListBeta"]
    assert all(len(line.split()[4]) == 19 for line in lines[1:])
    found = live_server.cli("credentials", "list", "-o", "json", "-q", "listalp", check=True).stdout
    assert [c["label"] for c in json.loads(found)] == ["ListAlpha"]


def test_credentials_show_and_delete(live_server):
    created = live_server.cli(
        "credentials",
        "create",
        "--label",
        "Gone soon",
        "--username",
        "u",
        "--password-stdin",
        input="pw",
        check=True,
    ).stdout.strip()
    shown = live_server.cli("credentials", "show", created, check=True).stdout
    assert "Gone soon" in shown and "fingerprint" in shown
    assert live_server.cli("credentials", "delete", created).returncode == 0
    missing = live_server.cli("credentials", "show", created)
    assert missing.returncode == 1
    assert "do not exist" in missing.stderr and "404" in missing.stderr


def test_cli_reports_duplicate_and_validation_errors(live_server):
    live_server.cli(
        "credentials",
        "create",
        "--label",
        "Dup",
        "--username",
        "u",
        "--password-stdin",
        input="pw",
        check=True,
    )
    dup = live_server.cli(
        "credentials", "create", "--label", "dup", "--username", "u", "--password-stdin", input="pw"
    )
    assert dup.returncode == 1 and "already exist" in dup.stderr
    empty = live_server.cli(
        "credentials", "create", "--label", "x", "--username", "u", "--password-stdin", input="\n"
    )
    assert empty.returncode == 1 and "password" in empty.stderr


def test_cli_without_token_or_server_fails_clearly(live_server):
    bad = live_server.cli("credentials", "list", token="edk_wrong")
    assert bad.returncode == 1 and "401" in bad.stderr
    env_url = live_server.url
    live_server.url = "http://127.0.0.1:9"
    try:
        down = live_server.cli("credentials", "list")
    finally:
        live_server.url = env_url
    assert down.returncode == 1 and "cannot reach" in down.stderr


def test_tokens_create_prints_token_alone_and_it_works(live_server):
    import subprocess

    from tests.support.live_server import EDGEDOCK

    out = subprocess.run(
        [EDGEDOCK, "tokens", "create", "--tenant", "acme", "--name", "ci"],
        env=live_server.env,
        capture_output=True,
        text=True,
        check=True,
    )
    token = out.stdout.strip()
    assert token.startswith("edk_") and "\n" not in token
    assert live_server.cli("credentials", "list", token=token).returncode == 0
    unknown = subprocess.run(
        [EDGEDOCK, "tokens", "create", "--tenant", "nope"],
        env=live_server.env,
        capture_output=True,
        text=True,
    )
    assert unknown.returncode == 1 and "does not exist" in unknown.stderr

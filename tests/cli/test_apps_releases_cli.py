"""`edgedock apps …`, `edgedock releases …` and `edgedock audit` against a running server."""

from __future__ import annotations

import json
import secrets

from tests import factories


def _name(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


def _credentials(live_server, label: str, password: str) -> str:
    result = live_server.cli(
        "credentials",
        "create",
        "--label",
        label,
        "--username",
        "robot",
        "--password-stdin",
        input=password,
        check=True,
    )
    return result.stdout.strip()


def test_apps_create_list_show_delete(live_server):
    name = _name("shop")
    app_id = live_server.cli(
        "apps", "create", "--name", name, "--description", "web shop", check=True
    ).stdout.strip()
    listed = live_server.cli("apps", "list", "-q", name, check=True).stdout.splitlines()
    assert listed[0].split() == ["ID", "NAME", "RELEASES", "CREATED"]
    assert listed[1].split()[:3] == [app_id, name, "0"]
    shown = json.loads(live_server.cli("apps", "show", app_id, "-o", "json", check=True).stdout)
    assert (shown["description"], shown["releases"]) == ("web shop", [])
    duplicate = live_server.cli("apps", "create", "--name", name.upper())
    assert duplicate.returncode != 0 and "409 duplicate_name" in duplicate.stderr
    live_server.cli("apps", "delete", app_id, check=True)
    assert live_server.cli("apps", "show", app_id).returncode != 0


def test_releases_create_from_file_warns_on_stderr_and_shows(live_server, tmp_path):
    creds_id = _credentials(live_server, _name("creds"), factories.unique_password())
    app_id = live_server.cli("apps", "create", "--name", _name("app"), check=True).stdout.strip()
    release_file = tmp_path / "release.json"
    release_file.write_text(
        json.dumps(
            {
                "containers": [
                    {
                        "name": "web",
                        "image": "ghcr.io/acme/web:1",
                        "image_credentials_id": creds_id,
                    },
                    {"name": "db", "image": "acme/db:2", "image_credentials_id": creds_id},
                ]
            }
        )
    )
    created = live_server.cli(
        "releases", "create", app_id, "--version", "1.0.0", "--file", str(release_file), check=True
    )
    release_id = created.stdout.strip()
    assert "warning: " in created.stderr and "ghcr.io" in created.stderr
    shown = live_server.cli("releases", "show", release_id, check=True).stdout
    assert "docker.io/acme/db:2" in shown and "(robot)" in shown
    listed = live_server.cli("releases", "list", app_id, check=True).stdout.splitlines()
    assert listed[1].split()[:4] == [release_id, "1.0.0", "2", "1"]


def test_releases_create_from_shown_release_on_stdin_makes_new_version(live_server):
    app_id = live_server.cli("apps", "create", "--name", _name("app"), check=True).stdout.strip()
    first = live_server.cli(
        "releases",
        "create",
        app_id,
        "--version",
        "1.0.0",
        "--file",
        "-",
        input=json.dumps({"containers": [{"name": "web", "image": "nginx:1.27"}]}),
        check=True,
    ).stdout.strip()
    shown = live_server.cli("releases", "show", first, "-o", "json", check=True).stdout
    second = live_server.cli(
        "releases", "create", app_id, "--version", "1.0.1", "-f", "-", input=shown, check=True
    ).stdout.strip()
    assert second != first
    live_server.cli("releases", "delete", first, check=True)
    assert live_server.cli("releases", "show", first).returncode != 0


def test_releases_create_reports_every_invalid_field(live_server):
    app_id = live_server.cli("apps", "create", "--name", _name("app"), check=True).stdout.strip()
    bad = {"containers": [{"name": "Web", "image": "nginx", "port_bindings": ["99999"]}]}
    result = live_server.cli(
        "releases", "create", app_id, "--version", "1.0.0", "-f", "-", input=json.dumps(bad)
    )
    assert result.returncode != 0
    assert "containers[0].name" in result.stderr
    assert "containers[0].port_bindings[0]" in result.stderr


def test_audit_filters_by_credentials_and_never_shows_password(live_server):
    password = factories.unique_password("cli-audit")
    creds_id = _credentials(live_server, _name("audited"), password)
    app_id = live_server.cli("apps", "create", "--name", _name("app"), check=True).stdout.strip()
    live_server.cli(
        "releases",
        "create",
        app_id,
        "--version",
        "1.0.0",
        "-f",
        "-",
        input=json.dumps(
            {"containers": [{"name": "w", "image": "nginx", "image_credentials_id": creds_id}]}
        ),
        check=True,
    )
    events = json.loads(
        live_server.cli(
            "audit", "--credentials", creds_id, "--since", "1h", "-o", "json", check=True
        ).stdout
    )
    assert [e["action"] for e in events] == [
        "releases.credentials_referenced",
        "credentials.created",
    ]
    table = live_server.cli("audit", "--limit", "5", check=True).stdout
    assert table.splitlines()[0].split() == ["AT", "ACTOR", "ACTION", "SUMMARY"]
    assert password not in table + json.dumps(events)

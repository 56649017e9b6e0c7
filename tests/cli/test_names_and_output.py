"""The CLI as people type it: names and labels for ids, `-o yaml|wide|json`, release files."""

from __future__ import annotations

import json
import re
import secrets

import yaml

from tests import factories


def _name(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


def _ok(live_server, *args: str, input: str | None = None):
    result = live_server.cli(*args, input=input)
    assert result.returncode == 0, result.stderr
    return result


def _one_line_error(result) -> str:
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def _credentials(live_server, label: str) -> str:
    return _ok(
        live_server,
        "credentials",
        "create",
        "--label",
        label,
        "--username",
        "robot",
        "--password-stdin",
        input=factories.unique_password(),
    ).stdout.strip()


EVERY_SETTING = """\
version: 2.0.0
containers:
  - name: web
    image: ghcr.io/acme/web:2.0.0
    credentials: {label}
    env:
      LOG_LEVEL: info
      PORT: 8080
      DEBUG: false
    command: [serve, --port, "80"]
    port_bindings: ["8080:80/tcp", "127.0.0.1:9000:9000/udp"]
    restart_policy: unless-stopped
    binds: ["/srv/web:/var/lib/web:ro"]
    network_mode: host
    privileged: true
  - name: sidecar
    image: busybox:1.36
"""


def test_yaml_release_file_with_every_setting_round_trips_through_show_yaml(live_server, tmp_path):
    label = _name("Internal Registry")
    creds_id = _credentials(live_server, label)
    app = _name("sensor-gateway")
    _ok(live_server, "apps", "create", "--name", app)
    release_file = tmp_path / "release.yaml"
    release_file.write_text(EVERY_SETTING.format(label=label))

    created = _ok(live_server, "releases", "create", app, "-f", str(release_file))
    release_id = created.stdout.strip()

    shown = yaml.safe_load(
        _ok(live_server, "releases", "show", f"{app}@2.0.0", "-o", "yaml").stdout
    )
    assert shown["id"] == release_id and shown["version"] == "2.0.0"
    web, sidecar = shown["containers"]
    assert web["image_credentials_id"] == creds_id
    assert web["env"] == {"LOG_LEVEL": "info", "PORT": "8080", "DEBUG": "false"}
    assert web["command"] == ["serve", "--port", "80"]
    assert web["port_bindings"] == ["8080:80", "127.0.0.1:9000:9000/udp"]  # normalised
    assert (web["restart_policy"], web["network_mode"], web["privileged"]) == (
        "unless-stopped",
        "host",
        True,
    )
    assert web["binds"] == ["/srv/web:/var/lib/web:ro"]
    assert (sidecar["restart_policy"], sidecar["privileged"], sidecar["command"]) == (
        "no",
        False,
        None,
    )

    # What `show -o yaml` printed is a release file: edited, it makes the next version.
    again = tmp_path / "again.yaml"
    again.write_text(yaml.safe_dump({**shown, "version": "2.0.1"}))
    _ok(live_server, "releases", "create", app, "-f", str(again))
    listed = json.loads(_ok(live_server, "releases", "list", app, "-o", "json").stdout)
    assert [r["version"] for r in listed] == ["2.0.1", "2.0.0"]
    assert listed[0]["containers"][0]["image_credentials_id"] == creds_id


def test_release_file_errors_are_one_line(live_server, tmp_path):
    app = _name("app")
    _ok(live_server, "apps", "create", "--name", app)
    broken = tmp_path / "broken.yaml"
    broken.write_text("containers:\n  - name: web\n   image: x\n")
    line = _one_line_error(
        live_server.cli("releases", "create", app, "-f", str(broken), "--version", "1.0.0")
    )
    assert "neither JSON nor YAML at line" in line
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text(
        "version: 1.0.0\ncontainers: [{name: web, image: nginx, credentials: nope-x}]\n"
    )
    line = _one_line_error(live_server.cli("releases", "create", app, "-f", str(unknown)))
    assert line == "error: image credentials 'nope-x' not found"
    invalid = "containers: [{name: Web, image: nginx, port_bindings: ['99999']}]"
    line = _one_line_error(
        live_server.cli("releases", "create", app, "--version", "1.0.0", "-f", "-", input=invalid)
    )
    assert "containers[0].name" in line and "containers[0].port_bindings[0]" in line


def test_deploy_by_release_and_device_names_then_upgrade_by_version(live_server):
    app = _name("sensor-gateway")
    device = _name("gw-lab")
    _ok(live_server, "apps", "create", "--name", app)
    for version in ("1.0.0", "1.1.0"):
        _ok(
            live_server,
            "releases",
            "create",
            app,
            "--version",
            version,
            "-f",
            "-",
            input="containers: [{name: web, image: busybox:1.36}]",
        )
    _ok(live_server, "devices", "create", "--name", device)

    deployment_id = _ok(
        live_server, "deploy", "create", "--release", f"{app}@1.0.0", "--device", device
    ).stdout.strip()
    shown = json.loads(_ok(live_server, "deploy", "show", f"{device}/{app}", "-o", "json").stdout)
    assert (shown["id"], shown["version"]) == (deployment_id, "1.0.0")

    upgraded = _ok(
        live_server, "deploy", "upgrade", f"{device}/{app}", "--release", "1.1.0", "-o", "yaml"
    )
    assert yaml.safe_load(upgraded.stdout)["version"] == "1.1.0"
    listed = _ok(live_server, "deploy", "list", "--device", device).stdout
    assert f"{app}@1.1.0" in listed
    _ok(live_server, "deploy", "delete", f"{device}/{app}")
    _ok(live_server, "devices", "delete", device)
    _ok(live_server, "releases", "delete", f"{app}@1.0.0")
    _ok(live_server, "apps", "delete", app)


def test_bare_version_is_refused_when_two_applications_have_it(live_server):
    first, second = _name("alpha"), _name("beta")
    for app in (first, second):
        _ok(live_server, "apps", "create", "--name", app)
        _ok(
            live_server,
            "releases",
            "create",
            app,
            "--version",
            "7.7.7",
            "-f",
            "-",
            input='{"containers": [{"name": "web", "image": "nginx"}]}',
        )
    device = _name("gw")
    _ok(live_server, "devices", "create", "--name", device)
    line = _one_line_error(
        live_server.cli("deploy", "create", "--release", "7.7.7", "--device", device)
    )
    assert line == (
        f"error: release '7.7.7' is ambiguous: {first}@7.7.7, {second}@7.7.7; "
        "name one as APP@VERSION"
    )
    assert _ok(
        live_server, "deploy", "create", "--release", f"{second}@7.7.7", "--device", device
    ).stdout.strip()


def test_unknown_names_fail_in_one_line(live_server):
    assert _one_line_error(live_server.cli("devices", "show", "no-such-gw")) == (
        "error: device 'no-such-gw' not found"
    )
    assert _one_line_error(live_server.cli("credentials", "show", "Internal Registry X")) == (
        "error: image credentials 'Internal Registry X' not found"
    )
    assert _one_line_error(live_server.cli("apps", "show", "nope")) == (
        "error: application 'nope' not found"
    )
    line = _one_line_error(live_server.cli("deploy", "show", "just-a-name"))
    assert "neither an id nor DEVICE/APP" in line


def test_credentials_by_label_and_in_use_error_names_the_force_flag(live_server):
    label = _name("Internal Registry")
    creds_id = _credentials(live_server, label)
    shown = yaml.safe_load(_ok(live_server, "credentials", "show", label, "-o", "yaml").stdout)
    assert shown["id"] == creds_id
    app = _name("app")
    _ok(live_server, "apps", "create", "--name", app)
    _ok(
        live_server,
        "releases",
        "create",
        app,
        "--version",
        "1.0.0",
        "-f",
        "-",
        input=f'{{"containers": [{{"name": "web", "image": "nginx", "credentials": "{label}"}}]}}',
    )
    line = _one_line_error(live_server.cli("credentials", "delete", label))
    assert "--force" in line and "force=true" not in line and f"{app} 1.0.0" in line
    assert f"(edgedock credentials replace {creds_id} --with NEW)" in line and "/api/v1" not in line
    deleted = _ok(live_server, "credentials", "delete", label, "--force")
    assert deleted.stdout == "" and label in deleted.stderr
    events = json.loads(_ok(live_server, "audit", "--credentials", creds_id, "-o", "json").stdout)
    assert "credentials.deleted" in [e["action"] for e in events]


def test_wide_adds_columns_and_yaml_lists_parse(live_server):
    device = _name("gw-wide")
    _ok(live_server, "devices", "create", "--name", device)
    narrow = _ok(live_server, "devices", "list", "-q", device).stdout.splitlines()[0]
    wide = _ok(live_server, "devices", "list", "-q", device, "-o", "wide").stdout.splitlines()[0]
    assert "ENGINE VERSION" not in narrow and "ENGINE VERSION" in wide and "CREATED" in wide
    items = yaml.safe_load(_ok(live_server, "devices", "list", "-q", device, "-o", "yaml").stdout)
    assert [d["name"] for d in items] == [device]
    shown = _ok(live_server, "devices", "show", device, "-o", "wide").stdout
    assert re.search(rf"name\s+{device}", shown)


def test_tables_print_times_to_the_second_in_utc(live_server):
    device = _name("gw-time")
    _ok(live_server, "devices", "create", "--name", device)
    row = _ok(live_server, "devices", "list", "-q", device, "-o", "wide").stdout.splitlines()[1]
    assert re.search(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\b", row), row
    # `tokens list` is an admin command on the database: the same form.
    tokens = live_server.cli("tokens", "list", "--tenant", "acme")
    assert tokens.returncode == 0, tokens.stderr
    row = tokens.stdout.splitlines()[1]
    assert re.search(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\b", row) and "+00:00" not in row, row


def test_devices_create_token_on_stdout_and_id_on_stderr_also_with_token_file(
    live_server, tmp_path
):
    plain = _ok(live_server, "devices", "create", "--name", _name("gw-out"))
    token = plain.stdout.strip()
    assert token.startswith("edd_") and len(plain.stdout.splitlines()) == 1
    device_id = re.search(r"device (\S+) created", plain.stderr).group(1)
    token_file = tmp_path / "gw.token"
    to_file = _ok(
        live_server,
        "devices",
        "create",
        "--name",
        _name("gw-file"),
        "--token-file",
        str(token_file),
    )
    assert to_file.stdout == ""
    assert re.search(r"device \S+ created; its token is in ", to_file.stderr)
    assert token_file.read_text().startswith("edd_")
    as_json = json.loads(_ok(live_server, "devices", "show", device_id, "-o", "json").stdout)
    assert "token" not in as_json

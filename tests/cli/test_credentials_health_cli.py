"""`edgedock credentials create --registry --expires-at` and `credentials list --state`."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta

from tests import factories
from tests.credentials import tokens


def _create(live_server, label: str, password: str, *options: str):
    return live_server.cli(
        "credentials",
        "create",
        "--label",
        label,
        "--username",
        "robot",
        "--password-stdin",
        *options,
        input=password,
    )


def test_create_with_registry_and_expiry_then_show(live_server):
    label = f"ghcr-{secrets.token_hex(3)}"
    password = "ghp_" + secrets.token_hex(18)
    result = _create(
        live_server, label, password, "--registry", "GHCR.io", "--expires-at", "2099-03-01"
    )
    assert result.returncode == 0, result.stderr
    credential_id = result.stdout.strip()
    shown = live_server.cli("credentials", "show", credential_id, "-o", "json", check=True).stdout
    body = json.loads(shown)
    assert body["registry"] == "ghcr.io"
    assert body["expires_at"].startswith("2099-03-01T00:00:00")
    assert body["expires_at_source"] == "given"
    table = live_server.cli("credentials", "show", credential_id, check=True).stdout
    assert "ghcr.io" in table
    assert password not in result.stdout + result.stderr + shown + table


def test_create_with_a_bad_expiry_fails_with_the_reason(live_server):
    password = factories.unique_password()
    result = _create(live_server, "bad-expiry", password, "--expires-at", "2099-01-01T10:00")
    assert result.returncode == 1
    assert "time zone" in result.stderr and "expires_at" in result.stderr
    assert password not in result.stdout + result.stderr


def test_list_filters_by_state(live_server):
    tag = secrets.token_hex(3)
    now = datetime.now(UTC)
    _create(live_server, f"{tag}-soon", tokens.ecr(now + timedelta(days=3))).check_returncode()
    _create(live_server, f"{tag}-gone", tokens.ecr(now - timedelta(days=1))).check_returncode()
    _create(live_server, f"{tag}-plain", factories.unique_password()).check_returncode()

    def listed(state: str) -> list[str]:
        out = live_server.cli(
            "credentials", "list", "-o", "json", "-q", tag, "--state", state, check=True
        ).stdout
        return [c["label"] for c in json.loads(out)]

    assert listed("expiring") == [f"{tag}-soon"]
    assert listed("expired") == [f"{tag}-gone"]
    assert listed("valid") == [f"{tag}-plain"]
    table = live_server.cli("credentials", "list", "-q", tag, "--state", "expiring", check=True)
    assert "(expiring)" in table.stdout and f"{tag}-gone" not in table.stdout
    wrong = live_server.cli("credentials", "list", "--state", "soon")
    assert wrong.returncode != 0 and "soon" in wrong.stderr

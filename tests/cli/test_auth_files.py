"""Reading docker's config.json and podman's auth.json (pure), and planning the import."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from edgedock.cli.auth_files import (
    AuthFileError,
    Login,
    decode_auth,
    default_paths,
    helper_list_reply,
    helper_reply,
    parse_auth_file,
)
from edgedock.cli.credentials_import import plan


def auth(username: str, password: str) -> str:
    return base64.b64encode(f"{username}:{password}".encode()).decode()


def test_docker_hub_key_is_bound_to_docker_io_and_the_path_is_dropped() -> None:
    text = json.dumps({"auths": {"https://index.docker.io/v1/": {"auth": auth("me", "pw:x")}}})
    [entry] = parse_auth_file(text).entries
    assert (entry.registry, entry.name) == ("docker.io", "docker.io")
    assert entry.login == Login("me", "pw:x")  # split at the first colon only


def test_podman_namespace_keys_keep_their_namespace_in_the_name_not_the_binding() -> None:
    text = json.dumps(
        {
            "auths": {
                "quay.io/team/": {"auth": auth("u", "p")},
                "LOCALHOST:5000": {"auth": auth("a", "b")},
            }
        }
    )
    team, local = parse_auth_file(text).entries
    assert (team.registry, team.name) == ("quay.io", "quay.io/team")
    assert (local.registry, local.name) == ("localhost:5000", "localhost:5000")


def test_tokens_are_skipped_with_the_reason() -> None:
    text = json.dumps(
        {
            "auths": {
                "ghcr.io": {"identitytoken": "refresh-me"},
                "registry.example": {"registrytoken": "bearer"},
                "empty.example": {},
                "broken.example": {"auth": "not base64!"},
                "nocolon.example": {"auth": base64.b64encode(b"justuser").decode()},
            }
        }
    )
    reasons = {entry.key: entry.skipped for entry in parse_auth_file(text).entries}
    assert "identity token" in reasons["ghcr.io"]
    assert "registry bearer token" in reasons["registry.example"]
    assert "no auth" in reasons["empty.example"]
    assert "not base64" in reasons["broken.example"]
    assert "colon" in reasons["nocolon.example"]
    assert all(entry.login is None for entry in parse_auth_file(text).entries)


def test_plain_username_and_password_fields_are_read_like_auth() -> None:
    text = json.dumps({"auths": {"r.example": {"username": "u", "password": "p"}}})
    assert parse_auth_file(text).entries[0].login == Login("u", "p")


def test_cred_helpers_win_over_creds_store_which_wins_over_auths() -> None:
    text = json.dumps(
        {
            "auths": {"a.example": {"auth": auth("u", "p")}, "b.example": {"auth": auth("u", "p")}},
            "credsStore": "desktop",
            "credHelpers": {"A.EXAMPLE": "gcloud", "c.example": "ecr-login"},
        }
    )
    parsed = parse_auth_file(text)
    helpers = {entry.key: entry.helper for entry in parsed.entries}
    assert helpers == {"a.example": "gcloud", "b.example": "desktop", "c.example": "ecr-login"}
    assert all(entry.login is None for entry in parsed.entries)
    listed = parsed.with_store_list({"b.example": "u", "https://index.docker.io/v1/": "me"})
    assert [(e.key, e.helper) for e in listed][-1] == ("https://index.docker.io/v1/", "desktop")
    assert len(listed) == 4


def test_a_key_that_is_no_registry_is_skipped_not_fatal() -> None:
    [entry] = parse_auth_file(json.dumps({"auths": {"not a host!": {}}})).entries
    assert entry.registry is None
    assert entry.skipped is not None and entry.skipped.startswith("not a registry")


@pytest.mark.parametrize(
    "text",
    ["", "[1]", '{"auths": []}', '{"credHelpers": "x"}', '{"credsStore": 1}'],
)
def test_files_that_are_not_auth_files_are_refused(text: str) -> None:
    with pytest.raises(AuthFileError):
        parse_auth_file(text)


def test_refusals_never_quote_the_secret() -> None:
    secret = "s3cr3t-in-a-broken-file"
    with pytest.raises(AuthFileError) as caught:
        parse_auth_file('{"auths": {"r": {"auth": "' + secret + '"')
    assert secret not in str(caught.value)
    with pytest.raises(AuthFileError) as caught:
        helper_reply('{"Username": "u", "Secret": "' + secret)
    assert secret not in str(caught.value)


def test_decode_auth_trims_nuls_like_docker() -> None:
    assert decode_auth(base64.b64encode(b"u:p\x00\x00").decode()) == Login("u", "p")


def test_helper_replies() -> None:
    assert helper_reply('{"ServerURL": "r", "Username": "u", "Secret": "s"}') == Login("u", "s")
    with pytest.raises(AuthFileError, match="identity token"):
        helper_reply('{"ServerURL": "r", "Username": "<token>", "Secret": "s"}')
    with pytest.raises(AuthFileError, match="no Username and Secret"):
        helper_reply('{"ServerURL": "r"}')
    assert helper_list_reply('{"https://r/v1/": "u"}') == {"https://r/v1/": "u"}


def test_login_repr_hides_the_password() -> None:
    assert "hidden-pw" not in repr(Login("u", "hidden-pw"))


def test_default_paths_follow_the_variables_then_the_defaults(tmp_path: Path) -> None:
    environ = {
        "REGISTRY_AUTH_FILE": "/a/auth.json",
        "DOCKER_CONFIG": "/d",
        "XDG_RUNTIME_DIR": "/run/user/1",
    }
    assert default_paths(environ, tmp_path) == [
        Path("/a/auth.json"),
        Path("/d/config.json"),
        Path("/run/user/1/containers/auth.json"),
        tmp_path / ".docker" / "config.json",
    ]
    assert default_paths({}, tmp_path) == [tmp_path / ".docker" / "config.json"]


def test_plan_skips_duplicates_and_existing_labels_unless_replacing() -> None:
    text = json.dumps(
        {
            "auths": {
                "https://index.docker.io/v1/": {"auth": auth("me", "p")},
                "docker.io": {"auth": auth("other", "p")},
                "ghcr.io": {"auth": auth("me", "p")},
                "quay.io": {"auth": auth("me", "p")},
            }
        }
    )
    entries = parse_auth_file(text).entries
    existing = [{"id": "old-id", "label": "Work GHCR.IO"}]
    steps = plan(entries, existing, label_prefix="work ", replace_label=False)
    assert [(s.label, s.action) for s in steps] == [
        ("work docker.io", "create"),
        ("work docker.io", "skipped"),
        ("work ghcr.io", "skipped"),
        ("work quay.io", "create"),
    ]
    assert "https://index.docker.io/v1/" in (steps[1].reason or "")
    assert "label exists" in (steps[2].reason or "")
    replacing = plan(entries, existing, label_prefix="work ", replace_label=True)
    assert (replacing[2].action, replacing[2].old_id) == ("replace", "old-id")

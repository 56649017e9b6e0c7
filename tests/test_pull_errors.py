"""The cause of a failed pull, from the words each engine and the server really use."""

from __future__ import annotations

import pytest

from edgedock.pull_errors import cause_of

# Measured here (tests/agent/test_pull_error_words.py prints them against the real engines).
PODMAN_REFUSED = (
    "initializing source docker://localhost:43241/team/app:1.0: reading manifest 1.0 in "
    "localhost:43241/team/app: unauthorized: authentication required"
)
PODMAN_MISSING = (
    "initializing source docker://localhost:43241/team/app:no-such-tag: reading manifest "
    "no-such-tag in localhost:43241/team/app: manifest unknown: manifest unknown"
)
DOCKER_REFUSED = "unauthorized: authentication required"
DOCKER_ANONYMOUS = (
    'Head "http://localhost:43241/v2/team/docker-app/manifests/1.0": no basic auth credentials'
)
DOCKER_MISSING = (
    "manifest for localhost:43241/team/docker-app:no-such-tag not found: manifest unknown: "
    "manifest unknown"
)
# A registry with token auth that knows the account but grants no pull (Distribution's words,
# as each engine passes them on).
PODMAN_DENIED = (
    "initializing source docker://registry.example/team/app:1.0: reading manifest 1.0 in "
    "registry.example/team/app: denied: requested access to the resource is denied"
)
DOCKER_DENIED = (
    "pull access denied for registry.example/team/app, repository does not exist or may "
    "require 'docker login': denied: requested access to the resource is denied"
)
# The server's own refusals of registry auth (device_api/service.py), as the agent reports them.
SERVER_DELETED = (
    "the image credentials 3f0c… that container 'web' (ghcr.io/acme/web:1.0) needs were "
    "deleted on 2026-12-02 10:00 UTC; make a new release that uses other credentials"
)
SERVER_EXPIRED = (
    "the image credentials 3f0c… that container 'web' (ghcr.io/acme/web:1.0) needs expired on "
    "2026-12-02 10:00 UTC; create new credentials and replace these with them in a new release"
)


@pytest.mark.parametrize(
    ("message", "used_credentials", "cause"),
    [
        (PODMAN_REFUSED, True, "wrong_password"),
        (DOCKER_REFUSED, True, "wrong_password"),
        (PODMAN_REFUSED, False, "no_credentials"),  # Podman words both the same
        (DOCKER_ANONYMOUS, False, "no_credentials"),
        (DOCKER_ANONYMOUS, True, "no_credentials"),  # Docker dropped an auth it could not read
        (PODMAN_MISSING, True, "not_found"),
        (DOCKER_MISSING, True, "not_found"),
        (PODMAN_DENIED, True, "no_pull_right"),
        (DOCKER_DENIED, True, "no_pull_right"),
        (SERVER_DELETED, True, "deleted"),
        (SERVER_EXPIRED, True, "expired"),
        (
            'Get "https://r.example/v2/": http: server gave HTTP response to HTTPS client',
            True,
            "plain_http",
        ),
        (
            'Get "https://r.example/v2/": dial tcp 10.0.0.9:443: connect: connection refused',
            True,
            "unreachable",
        ),
    ],
)
def test_cause_of_each_engines_wording(message: str, used_credentials: bool, cause: str) -> None:
    found = cause_of(message, used_credentials=used_credentials)
    assert found is not None and found.cause == cause
    assert found.title and found.fix


def test_cause_of_unknown_words_is_none() -> None:
    assert cause_of("the engine sent an unreadable pull progress line") is None
    assert cause_of(None) is None and cause_of("") is None


def test_cause_of_credential_causes_say_so() -> None:
    assert all(
        cause_of(m).about_credentials  # type: ignore[union-attr]
        for m in (PODMAN_REFUSED, DOCKER_DENIED, SERVER_DELETED, SERVER_EXPIRED)
    )
    assert not cause_of(DOCKER_MISSING).about_credentials  # type: ignore[union-attr]

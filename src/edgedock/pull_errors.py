"""Why a pull failed, read from the engine's or the registry's own words, and the likely fix.

Pure text in, a cause out: the deployment page shows it beside the verbatim message, with a
link to the credentials that were used. Podman and the Docker Engine word the same refusal
differently (Podman: `unable to retrieve auth token: invalid username/password: unauthorized:
authentication required`; Docker: `Head "http://…/manifests/1.0": unauthorized: authentication
required`; Docker drops an auth it cannot decode and then says `no basic auth credentials`), so
each cause lists the phrases of both, and of the server's own refusals (deleted or expired
credentials), most specific first.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PullErrorCause:
    cause: str  # a snake word: wrong_password, no_pull_right, expired, deleted, …
    title: str  # what most likely happened, for a person
    fix: str  # what to do about it
    about_credentials: bool  # whether the fix is about the credentials the container used


_RULES: tuple[tuple[tuple[str, ...], PullErrorCause], ...] = (
    (
        ("were deleted on", "credentials_deleted"),
        PullErrorCause(
            "deleted",
            "The credentials this container needs were deleted.",
            "Make a new release whose container uses other credentials, and upgrade to it.",
            True,
        ),
    ),
    (
        ("expired on", "credentials_expired", "token has expired", "token is expired"),
        PullErrorCause(
            "expired",
            "The credentials have expired.",
            "Create new credentials with a fresh token and replace the expired ones with them.",
            True,
        ),
    ),
    (
        (
            "requested access to the resource is denied",
            "insufficient_scope",
            "denied:",
            "access denied",
        ),
        PullErrorCause(
            "no_pull_right",
            "The registry knows these credentials but does not let them pull this image.",
            "Give the registry account the pull right on this repository, or use credentials "
            "that have it.",
            True,
        ),
    ),
    (
        ("no basic auth credentials",),
        PullErrorCause(
            "no_credentials",
            "The registry wants credentials and the pull went out without any.",
            "Pick credentials for this container in a new release, and upgrade to it.",
            True,
        ),
    ),
    (
        (
            "invalid username/password",
            "unauthorized: authentication required",
            "unauthorized: incorrect username or password",
            "401 unauthorized",
            "unauthorized",
        ),
        PullErrorCause(
            "wrong_password",
            "The registry refused the username or password.",
            "Create new credentials with the right password and replace these with them "
            "(credentials cannot be edited).",
            True,
        ),
    ),
    (
        ("manifest unknown", "name unknown", "not found", "does not exist"),
        PullErrorCause(
            "not_found",
            "The registry has no such image or tag.",
            "Check the image reference; make a new release with the right one.",
            False,
        ),
    ),
    (
        ("server gave http response to https client",),
        PullErrorCause(
            "plain_http",
            "The registry speaks plain HTTP and the engine expected HTTPS.",
            "Declare the registry insecure in the engine's configuration (Podman's "
            "registries.conf, Docker's insecure-registries), or serve it over HTTPS.",
            False,
        ),
    ),
    (
        (
            "connection refused",
            "no such host",
            "i/o timeout",
            "network is unreachable",
            "timeout",
        ),
        PullErrorCause(
            "unreachable",
            "The device could not reach the registry.",
            "Check the registry's address and the device's network.",
            False,
        ),
    ),
)


_NO_CREDENTIALS = next(cause for _, cause in _RULES if cause.cause == "no_credentials")


def cause_of(message: str | None, *, used_credentials: bool = True) -> PullErrorCause | None:
    """The most likely cause of a failed pull, or None when the words say nothing known.

    Podman words a wrong password and no credentials at all the same way (`unauthorized:
    authentication required`): `used_credentials` (whether the container has credentials)
    tells them apart.
    """
    if not message:
        return None
    text = message.lower()
    for phrases, cause in _RULES:
        if any(phrase in text for phrase in phrases):
            if cause.cause == "wrong_password" and not used_credentials:
                return _NO_CREDENTIALS
            return cause
    return None

"""Registry tokens: what a token request asks for (`scope`), what it is granted, the claims.

Pure functions; the token endpoint (issuing.py) decides who asks and signs the result. The
rule for both devices and accounts is the same: the `access` of a token is the intersection
of what was asked and what is allowed. Anything else is left out (the registry then refuses
it), never granted.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass

# The actions a registry knows on a repository (`*` is Distribution's "all").
ACTIONS = ("pull", "push", "delete", "*")
MAX_SCOPES = 20
MAX_SCOPE_LENGTH = 1000


class ScopeInvalid(ValueError):
    pass


@dataclass(frozen=True)
class Scope:
    type: str  # "repository", "repository(plugin)", "registry"
    name: str
    actions: tuple[str, ...]


def parse_scopes(values: Iterable[str]) -> list[Scope]:
    """Each `scope` parameter holds one or more space-separated `type:name:actions`.

    The name may itself hold a colon (a `host:port/` prefix), so the type ends at the first
    colon and the actions start after the last one.
    """
    found: list[Scope] = []
    for value in values:
        if len(value) > MAX_SCOPE_LENGTH:
            raise ScopeInvalid(f"a scope must be at most {MAX_SCOPE_LENGTH} characters")
        for item in value.split():
            kind, sep, rest = item.partition(":")
            name, sep2, actions = rest.rpartition(":")
            if not sep or not sep2 or not kind or not name:
                raise ScopeInvalid("a scope must look like repository:team/app:pull")
            wanted = tuple(a for a in dict.fromkeys(actions.split(",")) if a)
            found.append(Scope(type=kind, name=name, actions=wanted))
            if len(found) > MAX_SCOPES:
                raise ScopeInvalid(f"at most {MAX_SCOPES} scopes in one token request")
    return found


def pattern_matches(pattern: str, repository: str) -> bool:
    """`team/*` matches every repository under `team/`, nested ones too; no other wildcard."""
    return fnmatch.fnmatchcase(repository, pattern.replace("[", "[[]").replace("?", "[?]"))


Allowed = Callable[[Scope], set[str]]


def device_allowed(repositories: set[str]) -> Allowed:
    """A device may pull the repositories of its current deployments, and do nothing else."""

    def allowed(scope: Scope) -> set[str]:
        ok = scope.type == "repository" and scope.name in repositories
        return {"pull"} if ok else set()

    return allowed


def account_allowed(access: list[dict[str, object]]) -> Allowed:
    """What an account's access rules allow on one scope (repositories only)."""

    def allowed(scope: Scope) -> set[str]:
        if scope.type != "repository":
            return set()
        granted: set[str] = set()
        for rule in access:
            pattern, actions = rule.get("repository"), rule.get("actions")
            if (
                isinstance(pattern, str)
                and isinstance(actions, list)
                and pattern_matches(pattern, scope.name)
            ):
                granted.update(a for a in actions if isinstance(a, str))
        return granted

    return allowed


def grant(scopes: list[Scope], allowed: Allowed) -> list[dict[str, object]]:
    """The token's `access`: per scope, the actions asked for that are allowed; none, no entry."""
    access: list[dict[str, object]] = []
    for scope in scopes:
        may = allowed(scope)
        actions = [a for a in scope.actions if a in may or "*" in may]
        if actions:
            access.append({"type": scope.type, "name": scope.name, "actions": actions})
    return access


def claims(
    *,
    issuer: str,
    subject: str,
    audience: str,
    access: list[dict[str, object]],
    now: dt.datetime,
    ttl: int,
) -> dict[str, object]:
    issued = int(now.timestamp())
    return {
        "iss": issuer,
        "sub": subject,
        "aud": audience,
        "exp": issued + ttl,
        "nbf": issued,
        "iat": issued,
        "jti": secrets.token_urlsafe(16),
        "access": access,
    }


def answer(token: str, *, ttl: int, now: dt.datetime) -> dict[str, object]:
    """The token endpoint's body, with both names the specification and OAuth2 use."""
    return {
        "token": token,
        "access_token": token,
        "expires_in": ttl,
        "issued_at": now.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
    }

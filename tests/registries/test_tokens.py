"""Scope parsing, the grant rule and the claims, without a server; and the key ids."""

from __future__ import annotations

import datetime as dt

import pytest

from edgedock.registries import signing_keys, tokens
from tests.registries.helpers import verify


def test_parse_scopes_several_params_and_space_separated():
    scopes = tokens.parse_scopes(
        ["repository:team/app:pull,push", "repository:a:pull repository(plugin):b/c:pull"]
    )
    assert scopes == [
        tokens.Scope("repository", "team/app", ("pull", "push")),
        tokens.Scope("repository", "a", ("pull",)),
        tokens.Scope("repository(plugin)", "b/c", ("pull",)),
    ]


def test_parse_scopes_name_with_host_port():
    (scope,) = tokens.parse_scopes(["repository:localhost:5000/team/app:pull"])
    assert scope.name == "localhost:5000/team/app" and scope.actions == ("pull",)


@pytest.mark.parametrize("bad", ["nonsense", "repository:pull", ":a:pull", "x" * 1001])
def test_parse_scopes_refuses_malformed(bad):
    with pytest.raises(tokens.ScopeInvalid):
        tokens.parse_scopes([bad])


def test_parse_scopes_bounds_the_count():
    with pytest.raises(tokens.ScopeInvalid):
        tokens.parse_scopes([f"repository:r{i}:pull" for i in range(tokens.MAX_SCOPES + 1)])


def test_device_grant_is_pull_only_and_leaves_out_the_rest():
    scopes = tokens.parse_scopes(
        ["repository:team/app:pull,push,delete", "repository:team/x:pull", "registry:catalog:*"]
    )
    access = tokens.grant(scopes, tokens.device_allowed({"team/app"}))
    assert access == [{"type": "repository", "name": "team/app", "actions": ["pull"]}]
    star = tokens.grant(
        tokens.parse_scopes(["repository:team/app:*"]), tokens.device_allowed({"team/app"})
    )
    assert star == []


def test_account_grant_follows_patterns():
    allowed = tokens.account_allowed(
        [
            {"repository": "team/*", "actions": ["pull", "push"]},
            {"repository": "public/base", "actions": ["pull"]},
            {"repository": "admin/*", "actions": ["*"]},
        ]
    )
    scopes = tokens.parse_scopes(
        [
            "repository:team/app:pull,push",
            "repository:team/deep/app:push",
            "repository:public/base:pull,push",
            "repository:teamx/app:pull",
            "repository:admin/x:delete",
        ]
    )
    assert tokens.grant(scopes, allowed) == [
        {"type": "repository", "name": "team/app", "actions": ["pull", "push"]},
        {"type": "repository", "name": "team/deep/app", "actions": ["push"]},
        {"type": "repository", "name": "public/base", "actions": ["pull"]},
        {"type": "repository", "name": "admin/x", "actions": ["delete"]},
    ]


def test_claims_have_unique_jti_and_bounded_life():
    now = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)
    one = tokens.claims(issuer="i", subject="s", audience="a", access=[], now=now, ttl=300)
    two = tokens.claims(issuer="i", subject="s", audience="a", access=[], now=now, ttl=300)
    assert one["jti"] != two["jti"]
    assert one["exp"] == one["iat"] + 300 == int(now.timestamp()) + 300
    assert (one["iss"], one["sub"], one["aud"]) == ("i", "s", "a")
    answer = tokens.answer("t", ttl=300, now=now)
    assert answer == {
        "token": "t",
        "access_token": "t",
        "expires_in": 300,
        "issued_at": "2026-12-02T12:00:00Z",
    }


def test_signed_token_verifies_with_its_certificate_and_kid_is_libtrust():
    new = signing_keys.generate(common_name="test")
    signer = signing_keys.signer(new.private_der, new.certificate_pem)
    token = signer.sign({"sub": "x"})
    header, claims = verify(token, new.certificate_pem)
    assert claims == {"sub": "x"}
    assert header["kid"] == new.kid
    groups = new.kid.split(":")
    assert len(groups) == 12 and all(len(g) == 4 for g in groups)
    assert len(signing_keys.jwk_thumbprint(new.certificate_pem)) == 43

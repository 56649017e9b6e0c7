"""The image credentials REST API, as an operator's script meets it."""

from __future__ import annotations

import base64
import json
import time

import pytest

from tests import factories

URL = "/api/v1/image-credentials"


async def test_create_credentials_returns_201_without_password(api):
    password = factories.unique_password()
    response = await api.post(
        URL, json={"label": "Docker Hub", "username": "me", "password": password}
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) >= {
        "id",
        "label",
        "username",
        "fingerprint",
        "token_kind",
        "expires_at",
        "created_at",
        "used_by",
    }
    assert body["label"] == "Docker Hub" and body["username"] == "me"
    assert body["used_by"] == []
    assert password not in response.text
    assert "password" not in body


async def test_create_credentials_trims_label_and_username(api):
    body = await factories.credentials(api, label="  Internal registry \t", username="  bob ")
    assert body["label"] == "Internal registry"
    assert body["username"] == "bob"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"label": "", "username": "u", "password": "p"}, "label"),
        ({"label": "   ", "username": "u", "password": "p"}, "label"),
        ({"label": "x" * 101, "username": "u", "password": "p"}, "label"),
        ({"label": "a\x07b", "username": "u", "password": "p"}, "label"),
        ({"label": "a\nb", "username": "u", "password": "p"}, "label"),
        ({"label": "ok", "username": "", "password": "p"}, "username"),
        ({"label": "ok", "username": "u" * 256, "password": "p"}, "username"),
        ({"label": "ok", "username": "u\x00", "password": "p"}, "username"),
        ({"label": "ok", "username": "u", "password": ""}, "password"),
        ({"label": "ok", "username": "u", "password": "\n"}, "password"),
        ({"label": "ok", "username": "u", "password": "a\x00b"}, "password"),
        ({"label": "ok", "username": "u", "password": "é" * 8193}, "password"),
        ({"label": "ok", "username": "u"}, "password"),
        ({"username": "u", "password": "p"}, "label"),
        ({"label": 5, "username": "u", "password": "p"}, "label"),
        ({"label": "ok", "username": "u", "password": "p", "extra": 1}, "extra"),
    ],
)
async def test_create_credentials_refuses_invalid_field_with_422(api, payload, field):
    response = await api.post(URL, json=payload)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["field"] == field
    assert (await api.get(URL)).json()["items"] == []


async def test_create_credentials_refuses_malformed_json_with_422(api):
    response = await api.post(
        URL, content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid"


async def test_create_credentials_accepts_16384_byte_password(api):
    created = await factories.credentials(api, password="x" * 16384)
    assert created["id"]


async def test_password_keeps_all_but_one_trailing_newline(api, app, database):
    import uuid

    from edgedock.credentials import service as credential_service

    keyring = app.state.edgedock.keyring
    long_unicode = "pässwörd-🔑-" + "k" * 2000
    cases = {
        long_unicode + "\r\n": long_unicode,
        "p1\n": "p1",
        "p2\r\n": "p2",
        "p3\n\n": "p3\n",
        " p4 ": " p4 ",
        "p5\r": "p5\r",
    }
    for given, kept in cases.items():
        created = await factories.credentials(api, password=given)
        async with database.transaction() as session:
            row = await credential_service.get(
                session,
                tenant_id=(await _tenant_id(session)),
                credential_id=uuid.UUID(created["id"]),
            )
            assert credential_service.reveal(row, keyring=keyring) == kept


async def _tenant_id(session):
    from edgedock.tenants import service as tenant_service

    return (await tenant_service.get_by_slug(session, slug="acme")).id


async def test_duplicate_label_is_409_case_insensitively(api):
    await factories.credentials(api, label="GitHub Packages")
    response = await api.post(
        URL, json={"label": " github packages ", "username": "u", "password": "p"}
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "duplicate_label"
    assert response.json()["error"]["field"] == "label"


async def test_same_label_is_allowed_in_another_tenant(api, other_api):
    await factories.credentials(api, label="Shared name")
    await factories.credentials(other_api, label="Shared name")


async def test_fingerprint_is_stable_per_password_within_tenant(api, other_api):
    a = await factories.credentials(api, password="same-secret")
    b = await factories.credentials(api, password="same-secret")
    c = await factories.credentials(api, password="other-secret")
    d = await factories.credentials(other_api, password="same-secret")
    assert a["fingerprint"] == b["fingerprint"]
    assert a["fingerprint"] != c["fingerprint"]
    assert a["fingerprint"] != d["fingerprint"], "fingerprints are keyed per tenant"
    assert len(a["fingerprint"]) == 19


def _jwt(claims: dict) -> str:
    enc = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")  # noqa: E731
    return f"{enc({'alg': 'RS256', 'typ': 'JWT'})}.{enc(claims)}.c2lnbmF0dXJl"


def _ecr(expiration: int) -> str:
    document = {
        "payload": "x" * 200,
        "datakey": "y" * 100,
        "version": "2",
        "type": "DATA_KEY",
        "expiration": expiration,
    }
    return base64.b64encode(json.dumps(document).encode()).decode()


TOKEN_CASES = {
    "docker-hub-pat": (lambda: "dckr_pat_abc123def456ghi789", "docker_hub_pat", None),
    "github-classic": (lambda: "ghp_abcdefghijklmnopqrstuvwxyz123456", "github_pat", None),
    "github-fine-grained": (lambda: "github_pat_11ABCDEFG_xyz", "github_pat", None),
    "jwt-valid": (lambda: _jwt({"sub": "x", "exp": int(time.time()) + 30 * 86400}), "jwt", "valid"),
    "jwt-soon": (lambda: _jwt({"sub": "x", "exp": int(time.time()) + 3600}), "jwt", "expiring"),
    "jwt-expired": (lambda: _jwt({"sub": "x", "exp": int(time.time()) - 60}), "jwt", "expired"),
    "jwt-no-exp": (lambda: _jwt({"sub": "x"}), "jwt", None),
    "ecr-soon": (lambda: _ecr(int(time.time()) + 12 * 3600), "aws_ecr", "expiring"),
    "ecr-expired": (lambda: _ecr(int(time.time()) - 3600), "aws_ecr", "expired"),
    "plain": (lambda: "s3cureP@ssw0rd", None, None),
    "base64-not-jwt": (lambda: "eyJub3QiOiJqd3QifQ", None, None),
}


@pytest.mark.parametrize("case", list(TOKEN_CASES))
async def test_token_kind_and_expiry_are_derived(api, case):
    make_password, kind, state = TOKEN_CASES[case]
    password = make_password()
    created = await factories.credentials(api, password=password)
    assert created["token_kind"] == kind
    assert created["expiry_state"] == state
    assert (created["expires_at"] is None) == (state is None)


async def test_list_credentials_searches_label_and_username(api):
    await factories.credentials(api, label="Docker Hub Production", username="mycompany")
    await factories.credentials(api, label="GitHub Packages", username="myorganization")
    await factories.credentials(api, label="Internal 100%_sure", username="registry-admin")
    labels = lambda r: [i["label"] for i in r.json()["items"]]  # noqa: E731
    assert labels(await api.get(URL, params={"q": "docker"})) == ["Docker Hub Production"]
    assert labels(await api.get(URL, params={"q": "MYORG"})) == ["GitHub Packages"]
    assert labels(await api.get(URL, params={"q": "100%_"})) == ["Internal 100%_sure"]
    assert labels(await api.get(URL, params={"q": "%"})) == ["Internal 100%_sure"]
    assert len(labels(await api.get(URL))) == 3


async def test_list_credentials_paginates_with_cursor(api):
    for i in range(7):
        await factories.credentials(api, label=f"creds {i:02d}")
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        body = (await api.get(URL, params=params)).json()
        seen += [i["label"] for i in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"creds {i:02d}" for i in range(7)]
    assert pages == 3


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 201},
        {"limit": "x"},
        {"cursor": "garbage!"},
        {"cursor": "WzEsMl0"},
        {"cursor": "WyJhIiwibm90LWEtdXVpZCJd"},
    ],
)
async def test_list_credentials_refuses_bad_paging_with_422(api, params):
    response = await api.get(URL, params=params)
    assert response.status_code == 422
    assert response.json()["error"]["field"] in {"limit", "cursor"}


async def test_get_credentials_unknown_or_malformed_id_is_404(api):
    for bad in ["00000000-0000-0000-0000-000000000000", "not-a-uuid", "%20"]:
        response = await api.get(f"{URL}/{bad}")
        assert response.status_code == 404, bad
        assert response.json()["error"]["code"] == "credentials_not_found"


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_update_credentials_is_405_with_rotation_advice(api, method):
    created = await factories.credentials(api, label="immutable")
    response = await api.request(
        method,
        f"{URL}/{created['id']}",
        json={"label": "changed", "username": "u", "password": "p"},
    )
    assert response.status_code == 405
    message = response.json()["error"]["message"]
    assert "create new credentials" in message and "delete the old" in message
    assert (await api.get(f"{URL}/{created['id']}")).json()["label"] == "immutable"


async def test_delete_unreferenced_credentials_is_204(api):
    created = await factories.credentials(api)
    assert (await api.delete(f"{URL}/{created['id']}")).status_code == 204
    assert (await api.get(f"{URL}/{created['id']}")).status_code == 404
    assert (await api.delete(f"{URL}/{created['id']}")).status_code == 404


async def test_requests_without_valid_token_are_401(anonymous, api):
    created = await factories.credentials(api)
    for headers in [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic eDp5"}]:
        response = await anonymous.get(f"{URL}/{created['id']}", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"
        response = await anonymous.post(
            URL, json={"label": "x", "username": "u", "password": "p"}, headers=headers
        )
        assert response.status_code == 401


async def test_revoked_token_is_401(app, database, tenant):
    import uuid

    from edgedock.tokens import service as token_service

    async with database.transaction() as session:
        _, token = await token_service.create(session, tenant_id=tenant.id, name="ci")
    async with factories.client_for(app, token) as client:
        assert (await client.get(URL)).status_code == 200
        async with database.transaction() as session:
            rows = await token_service.search(session, tenant_id=tenant.id)
            ci = next(t for t in rows if t.name == "ci")
            await token_service.revoke(session, tenant_id=tenant.id, token_id=ci.id)
        assert (await client.get(URL)).status_code == 401
        assert uuid.UUID(str(ci.id))


async def test_every_credentials_endpoint_of_another_tenant_is_404_and_changes_nothing(
    api, other_api
):
    created = await factories.credentials(api, label="tenant A only")
    target = f"{URL}/{created['id']}"
    assert (await other_api.get(target)).status_code == 404
    assert (await other_api.delete(target)).status_code == 404
    assert (await other_api.delete(target, params={"force": "true"})).status_code == 404
    assert (await other_api.put(target, json={})).status_code == 404
    assert (await other_api.patch(target, json={})).status_code == 404
    assert (await other_api.get(URL)).json()["items"] == []
    assert (await other_api.get(URL, params={"q": "tenant"})).json()["items"] == []
    still = await api.get(target)
    assert still.status_code == 200 and still.json()["label"] == "tenant A only"


async def test_unknown_route_answers_json_404(api):
    response = await api.get("/api/v1/nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_openapi_document_lists_credentials_paths(anonymous):
    spec = (await anonymous.get("/openapi.json")).json()
    assert "/api/v1/image-credentials" in spec["paths"]
    assert "/api/v1/image-credentials/{credential_id}" in spec["paths"]


async def test_label_race_lost_at_the_constraint_is_409(api, database, keyring, tenant):
    """Two creates can both pass the label check; the unique constraint decides, cleanly."""
    from unittest import mock

    from edgedock.actors import Actor
    from edgedock.credentials import service as credential_service
    from edgedock.credentials.schemas import CredentialCreate
    from edgedock.errors import Conflict

    await factories.credentials(api, label="Raced")
    actor = Actor(tenant_id=tenant.id, name="token:test")
    async with database.transaction() as session:
        with mock.patch.object(credential_service, "_label_taken", return_value=False):
            try:
                await credential_service.create(
                    session,
                    actor=actor,
                    keyring=keyring,
                    data=CredentialCreate(label="raced", username="u", password="p"),
                )
            except Conflict as exc:
                assert exc.code == "duplicate_label"
            else:
                raise AssertionError("the constraint did not refuse the duplicate")
        await credential_service.search(session, tenant_id=tenant.id)  # the transaction lives on

"""Credentials expiry: given on create or read from the token, states, the list filter, audit."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from edgedock.config import Settings
from edgedock.credentials import expiry
from edgedock.credentials.expiry import ExpirySweeper
from edgedock.credentials.models import ImageCredential
from edgedock.notify import LocalNotifier
from edgedock.server.app import create_app
from tests import factories
from tests.credentials import tokens

URL = "/api/v1/image-credentials"
WEEK = timedelta(days=7)


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


async def _create(api, **body):
    payload = {
        "label": f"creds-{secrets.token_hex(4)}",
        "username": "robot",
        "password": factories.unique_password(),
        **body,
    }
    return await api.post(URL, json=payload)


async def test_given_expiry_on_a_pat_is_kept_and_named_given(api):
    at = (_now() + timedelta(days=30)).replace(microsecond=0)
    response = await _create(api, password="ghp_" + secrets.token_hex(18), expires_at=_iso(at))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["token_kind"] == "github_pat"
    assert datetime.fromisoformat(body["expires_at"]) == at
    assert body["expires_at_source"] == "given"
    assert body["expiry_state"] == "valid"
    detail = (await api.get(f"{URL}/{body['id']}")).json()
    assert detail["expires_at_source"] == "given" and detail["expires_at"] == body["expires_at"]


async def test_a_given_date_alone_means_midnight_utc(api):
    day = (_now() + timedelta(days=40)).date()
    body = (await _create(api, expires_at=day.isoformat())).json()
    assert datetime.fromisoformat(body["expires_at"]) == datetime(
        day.year, day.month, day.day, tzinfo=UTC
    )


async def test_a_given_expiry_with_an_offset_is_stored_in_utc(api):
    body = (await _create(api, expires_at="2099-06-01T12:00:00+02:00")).json()
    assert datetime.fromisoformat(body["expires_at"]) == datetime(2099, 6, 1, 10, tzinfo=UTC)


async def test_the_token_expiry_wins_when_it_is_earlier(api):
    token_at = (_now() + timedelta(days=2)).replace(microsecond=0)
    given = _now() + timedelta(days=20)
    body = (await _create(api, password=tokens.ecr(token_at), expires_at=_iso(given))).json()
    assert datetime.fromisoformat(body["expires_at"]) == token_at
    assert body["expires_at_source"] == "token"
    assert body["expiry_state"] == "expiring"


async def test_the_given_expiry_wins_when_it_is_earlier(api):
    token_at = _now() + timedelta(days=60)
    given = (_now() + timedelta(days=3)).replace(microsecond=0)
    body = (await _create(api, password=tokens.jwt(token_at), expires_at=_iso(given))).json()
    assert datetime.fromisoformat(body["expires_at"]) == given
    assert body["expires_at_source"] == "given"
    assert body["token_kind"] == "jwt"


async def test_an_expiry_read_from_the_token_is_named_token(api):
    body = (await _create(api, password=tokens.ecr(_now() - timedelta(days=1)))).json()
    assert body["expires_at_source"] == "token" and body["expiry_state"] == "expired"


async def test_no_expiry_anywhere_leaves_state_and_source_null(api):
    body = (await _create(api)).json()
    assert body["expires_at"] is None
    assert body["expires_at_source"] is None and body["expiry_state"] is None


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("2099-01-01T12:00:00", "time zone"),
        (_iso(datetime(2001, 1, 1, tzinfo=UTC)), "in the past"),
        ("2000-01-01", "in the past"),
        ("9999-01-01T00:00:00Z", "100 years"),
        ("9999-12-31T23:59:59-01:00", "out of range"),
        ("0001-01-01T00:00:00+01:00", "out of range"),
        ("next tuesday", "datetime"),
        ("2099-02-30", "date"),
    ],
)
async def test_a_bad_given_expiry_is_a_422_on_the_field_and_writes_nothing(api, value, says):
    password = factories.unique_password()
    response = await _create(api, password=password, expires_at=value)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["field"] == "expires_at"
    assert says in error["message"]
    assert password not in response.text
    assert (await api.get(URL)).json()["items"] == []


async def _four_states(api) -> dict[str, str]:
    """Credentials in each expiry state (and one without expiry), by name → label."""
    made = {
        "expired": tokens.ecr(_now() - timedelta(days=1)),
        "expiring": tokens.ecr(_now() + timedelta(days=3)),
        "valid": tokens.jwt(_now() + timedelta(days=30)),
        "none": factories.unique_password(),
    }
    labels = {}
    for name, password in made.items():
        body = await factories.credentials(
            api, label=f"{name}-{secrets.token_hex(2)}", password=password
        )
        labels[name] = body["label"]
    return labels


async def test_the_list_filters_by_expiry_state(api):
    labels = await _four_states(api)

    async def listed(state: str) -> list[str]:
        response = await api.get(URL, params={"state": state})
        assert response.status_code == 200, response.text
        return [i["label"] for i in response.json()["items"]]

    assert await listed("expiring") == [labels["expiring"]]
    assert await listed("expired") == [labels["expired"]]
    # `valid`: neither expiring nor expired, so credentials without an expiry are in it too.
    assert await listed("valid") == sorted([labels["valid"], labels["none"]])
    states = {i["label"]: i["expiry_state"] for i in (await api.get(URL)).json()["items"]}
    assert states[labels["expiring"]] == "expiring" and states[labels["none"]] is None


async def test_the_state_filter_pages_with_the_cursor(api):
    expiring = []
    for i in range(5):
        password = tokens.ecr(_now() + timedelta(days=1, hours=i))
        expiring.append(
            (await factories.credentials(api, label=f"e{i}", password=password))["label"]
        )
        await factories.credentials(api, label=f"e{i}-plain")  # between them in label order
    seen, cursor = [], None
    while True:
        params = {"state": "expiring", "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await api.get(URL, params=params)).json()
        assert len(page["items"]) <= 2
        seen += [i["label"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == expiring


async def test_an_unknown_state_is_a_422(api):
    response = await api.get(URL, params={"state": "expires_soon"})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "state"


async def test_the_warning_window_comes_from_the_settings(app_settings, database, keyring, tenant):
    settings = Settings(
        **{**app_settings.model_dump(), "credentials_expiry_warning_days": 1}  # type: ignore[arg-type]
    )
    app = create_app(settings, database=database, keyring=keyring, notifier=LocalNotifier())
    async with factories.client_for(app, tenant.token) as api:
        three = await factories.credentials(api, password=tokens.ecr(_now() + timedelta(days=3)))
        hours = await factories.credentials(api, password=tokens.ecr(_now() + timedelta(hours=12)))
        assert three["expiry_state"] == "valid"
        assert hours["expiry_state"] == "expiring"
        listed = (await api.get(URL, params={"state": "expiring"})).json()["items"]
        assert [i["id"] for i in listed] == [hours["id"]]


async def _events(api, credentials_id: str) -> list[str]:
    page = (await api.get("/api/v1/audit-events", params={"credentials_id": credentials_id})).json()
    return sorted(e["action"] for e in page["items"] if e["action"].startswith("credentials.exp"))


async def test_the_sweep_audits_each_state_once_when_first_crossed(api, database):
    expired = await factories.credentials(api, password=tokens.ecr(_now() - timedelta(days=1)))
    soon = await factories.credentials(api, password=tokens.ecr(_now() + timedelta(days=3)))
    later = await factories.credentials(api, password=tokens.jwt(_now() + timedelta(days=30)))
    sweeper = ExpirySweeper(database, warning=WEEK, interval=60)
    assert await sweeper.sweep() == 2
    assert await sweeper.sweep() == 0, "a second sweep finds nothing new"
    assert await _events(api, expired["id"]) == ["credentials.expired"]
    assert await _events(api, soon["id"]) == ["credentials.expiring"]
    assert await _events(api, later["id"]) == []
    # Four days on, the expiring credentials have expired, and the 30-day ones are not yet close.
    async with database.transaction() as session:
        moved = await expiry.record_crossings(session, warning=WEEK, now=_now() + timedelta(days=4))
    assert moved == 1
    assert await _events(api, soon["id"]) == ["credentials.expired", "credentials.expiring"]
    async with database.transaction() as session:
        assert (
            await expiry.record_crossings(session, warning=WEEK, now=_now() + timedelta(days=4))
            == 0
        )


async def test_the_expiry_events_name_the_credentials_and_no_secret(api, database):
    password = tokens.ecr(_now() - timedelta(hours=2))
    creds = await factories.credentials(api, label="ECR production", password=password)
    await ExpirySweeper(database, warning=WEEK, interval=60).sweep()
    page = (await api.get("/api/v1/audit-events", params={"credentials_id": creds["id"]})).json()
    (event,) = [e for e in page["items"] if e["action"] == "credentials.expired"]
    assert "ECR production" in event["summary"] and "create new credentials" in event["summary"]
    assert event["actor"] == "system:expiry"
    assert event["details"]["expires_at_source"] == "token"
    assert password not in str(page) and password[10:40] not in str(page)


async def test_the_sweep_starts_and_stops_with_the_server(app, database, api):
    """The lifespan runs a sweep at start: expired credentials are audited without a request."""
    creds = await factories.credentials(api, password=tokens.ecr(_now() - timedelta(days=1)))
    async with app.router.lifespan_context(app):
        await app.state.expiry_sweeper.wait_round()
        assert app.state.expiry_sweeper.rounds == 1
    async with database.transaction() as session:
        row = await session.get_one(ImageCredential, uuid.UUID(creds["id"]))
        assert row.expiry_state_recorded == "expired"
    assert await _events(api, creds["id"]) == ["credentials.expired"]

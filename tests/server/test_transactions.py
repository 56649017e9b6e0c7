"""One transaction per request, committed before the answer leaves (STYLE.md, FastAPI ≥ 0.121)."""

from __future__ import annotations

import httpx
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import Session

from edgedock.credentials.models import ImageCredential
from edgedock.db import Database
from edgedock.notify import LocalNotifier
from edgedock.server.app import create_app


class _CommitFails(Exception):
    pass


class FailingCommitSession(Session):
    """A session whose commit fails, as a lost connection or a deferred constraint would."""


@event.listens_for(FailingCommitSession, "before_commit")
def _fail(_session: Session) -> None:
    raise _CommitFails("commit refused by the test")


async def test_failed_commit_answers_500_not_201(settings, database, keyring, tenant):
    failing = Database(
        engine=database.engine,
        sessions=async_sessionmaker(
            bind=database.sessions.kw["bind"],
            expire_on_commit=False,
            join_transaction_mode="create_savepoint",
            sync_session_class=FailingCommitSession,
        ),
    )
    app = create_app(settings, database=failing, keyring=keyring, notifier=LocalNotifier())
    # Starlette re-raises after answering 500 so servers log it; read the answer as a client.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    headers = {"Authorization": f"Bearer {tenant.token}"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://t", headers=headers
    ) as client:
        response = await client.post(
            "/api/v1/image-credentials",
            json={"label": "never committed", "username": "u", "password": "p"},
        )
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    async with database.transaction() as session:
        count = await session.scalar(select(func.count()).select_from(ImageCredential))
    assert count == 0


async def test_unexpected_error_is_logged_500_without_details(app, tenant):
    @app.get("/api/v1/boom")
    async def boom() -> None:
        raise RuntimeError("internal detail that must not reach the client")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/api/v1/boom")
    assert response.status_code == 500
    assert "internal detail" not in response.text
    assert response.json() == {
        "error": {"code": "internal_error", "message": "internal server error"}
    }

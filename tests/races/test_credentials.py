"""Deleting credentials while releases that name them are being created: 409, 404 or a tombstone."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from edgedock.credentials.models import ImageCredential
from edgedock.releases.models import ReleaseContainer
from tests import factories
from tests.support.races import codes, together

CREDS = "/api/v1/image-credentials"


def _release_body(version: str, credentials_id: str) -> dict[str, object]:
    return {
        "version": version,
        "containers": [
            factories.container("web", "ghcr.io/acme/web:1", image_credentials_id=credentials_id),
            factories.container("api", "ghcr.io/acme/api:1", image_credentials_id=credentials_id),
        ],
    }


async def _race(api, *, force: bool):
    """Ten release creates naming the credentials, with their delete started in the middle."""
    creds = await factories.credentials(api)
    app = await factories.application(api, name="shop")
    url = f"/api/v1/applications/{app['id']}/releases"
    creates = [api.post(url, json=_release_body(f"1.0.{i}", creds["id"])) for i in range(10)]
    delete = api.delete(f"{CREDS}/{creds['id']}", params={"force": str(force).lower()})
    responses = await together(*creates[:5], delete, *creates[5:])
    deleted = responses.pop(5)
    return creds, deleted, responses


async def _containers_naming(race_server, creds) -> list[ReleaseContainer]:
    """Every container whose release was created with these credentials (the label snapshot)."""
    async with race_server.database.transaction() as session:
        stmt = select(ReleaseContainer).where(ReleaseContainer.credentials_label == creds["label"])
        return list((await session.scalars(stmt)).all())


async def test_unforced_delete_racing_release_creates_answers_409_or_leaves_no_reference(
    race_server,
):
    async with race_server.tenant_client() as api:
        creds, deleted, creates = await _race(api, force=False)
    credentials_id = uuid.UUID(creds["id"])
    assert deleted.status_code in (204, 409), deleted.text
    assert {r.status_code for r in creates} <= {201, 404}, [r.text for r in creates]
    made = [r.json() for r in creates if r.status_code == 201]
    containers = await _containers_naming(race_server, creds)
    assert len(containers) == 2 * len(made)
    still_there = await race_server.count(ImageCredential, ImageCredential.id == credentials_id)
    if deleted.status_code == 409:
        assert deleted.json()["error"]["code"] == "credentials_in_use"
        assert made, "refused as in use, so some release must use the credentials"
        assert still_there == 1
        assert all(c.image_credentials_id == credentials_id for c in containers)
    else:
        # Deleted without force: then no release may have been made with the credentials.
        assert still_there == 0
        assert made == [] and containers == []
        assert codes(creates) == {"credentials_not_found"}


async def test_forced_delete_racing_release_creates_tombstones_every_container(race_server):
    async with race_server.tenant_client() as api:
        creds, deleted, creates = await _race(api, force=True)
    credentials_id = uuid.UUID(creds["id"])
    assert deleted.status_code == 204, deleted.text
    assert {r.status_code for r in creates} <= {201, 404}, [r.text for r in creates]
    assert codes(creates) <= {"credentials_not_found"}
    made = [r.json() for r in creates if r.status_code == 201]
    containers = await _containers_naming(race_server, creds)
    assert len(containers) == 2 * len(made)
    # Nothing silently stripped: every container that had the credentials names them as deleted.
    for c in containers:
        assert c.image_credentials_id is None
        assert c.credentials_deleted_id == credentials_id
        assert c.credentials_deleted_at is not None
    assert await race_server.count(ImageCredential, ImageCredential.id == credentials_id) == 0

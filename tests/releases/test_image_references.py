"""Image references read back through the API agree with the shared conformance table.

tests/test_references.py checks the parser row by row; this checks that the API stores what was
typed and returns the pull reference and registry the table implies, and refuses what it refuses.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests import factories
from tests.test_references import ROWS, row_id

# Every valid row and every invalid one: the table is small and this is where users meet it.
VALID = [row for row in ROWS if row["valid"]]
INVALID = [row for row in ROWS if not row["valid"]]


def expected_pull_reference(row: dict[str, Any]) -> str:
    """What an engine pulls, from the row's parts: `latest` when unpinned, a digest alone."""
    name = f"{row['domain']}/{row['path']}"
    if row["digest"]:
        return f"{name}@{row['digest']}"
    return f"{name}:{row['tag'] or 'latest'}"


def chunks(rows: list[dict[str, Any]], size: int = 50) -> list[list[dict[str, Any]]]:
    """Rows in groups of one release's worth of containers: one request checks up to 50."""
    return [rows[i : i + size] for i in range(0, len(rows), size)]


@pytest.mark.parametrize("rows", chunks(VALID), ids=lambda rows: f"{len(rows)} rows")
async def test_release_images_match_conformance_rows_when_valid(api, rows):
    app = await factories.application(api)
    specs = [factories.container(f"c{i}", row["input"]) for i, row in enumerate(rows)]
    body = await factories.release(api, app["id"], containers=specs)
    got = (await api.get(f"/api/v1/releases/{body['id']}")).json()["containers"]
    for row, container in zip(rows, got, strict=True):
        facts = (container["image"], container["registry"], container["image_canonical"])
        wanted = (row["input"], row["domain"], expected_pull_reference(row))
        assert facts == wanted, row_id(row)
        if row["op"] == "pull_reference":
            assert container["image_canonical"] == row["canonical"], row_id(row)


@pytest.mark.parametrize("rows", chunks(INVALID), ids=lambda rows: f"{len(rows)} rows")
async def test_release_images_are_refused_with_422_when_conformance_rows_invalid(api, rows):
    app = await factories.application(api)
    specs = [factories.container(f"c{i}", row["input"]) for i, row in enumerate(rows)]
    response = await api.post(
        f"/api/v1/applications/{app['id']}/releases", json={"version": "1.0.0", "containers": specs}
    )
    assert response.status_code == 422, response.text
    errors = {e["field"]: e["message"] for e in response.json()["error"]["errors"]}
    for i, row in enumerate(rows):
        message = errors.get(f"containers[{i}].image", "")
        assert "invalid image reference" in message, row_id(row)
    assert len(errors) == len(rows)
    assert (await api.get(f"/api/v1/applications/{app['id']}/releases")).json()["items"] == []

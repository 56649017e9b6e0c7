"""The forms refuse the names the API refuses: invisible characters, over-long folded keys, NUL.

Answered with the form again (422), the message next to the field, and nothing written.
"""

from __future__ import annotations

import pytest

from tests.web.conftest import post_form

BAD_NAMES = {
    "zero-width space": "Docker\u200bHub",
    "right-to-left override": "Hub\u202eevil",
    "line separator": "Hub\u2028two",
    "byte order mark": "\ufeffHub",
    "NUL": "Hub\x00",
    "folds too long": "\ufdfa" * 30,
}


@pytest.mark.parametrize(
    ("page", "action", "field", "extra", "listing"),
    [
        (
            "/image-credentials/new",
            "/image-credentials",
            "label",
            {"username": "robot", "password": "pw-secret"},
            "/api/v1/image-credentials",
        ),
        ("/devices/new", "/devices", "name", {}, "/api/v1/devices"),
    ],
    ids=["credentials", "devices"],
)
async def test_form_with_a_bad_name_is_refused_and_nothing_written(
    web, api, page, action, field, extra, listing
):
    for what, name in BAD_NAMES.items():
        response = await post_form(web, page, action, {field: name, **extra})
        assert response.status_code == 422, (what, response.text)
        assert f'id="{field}-error"' in response.text, what
    assert (await api.get(listing)).json()["items"] == []

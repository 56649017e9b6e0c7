"""The "Replace with…" page: pick, see the plan (a dry run), confirm; errors on the page."""

from __future__ import annotations

import html
import uuid

from tests.rotation.fleet import fleet
from tests.web.conftest import csrf_of, post_form


def _page(f) -> str:
    return f"/image-credentials/{f.old['id']}/replace"


async def _releases(api, app_id: str) -> list[str]:
    page = await api.get(f"/api/v1/applications/{app_id}/releases")
    return sorted(r["version"] for r in page.json()["items"])


async def test_detail_page_offers_replace_and_the_form_lists_the_releases(
    web, api, database, tenant
):
    f = await fleet(api, database, tenant.id)
    detail = (await web.get(f"/image-credentials/{f.old['id']}")).text
    assert f'href="{_page(f)}"' in detail and "Replace with…" in detail
    assert "2 of these containers are in a release that is deployed" in html.unescape(detail)
    form = await web.get(_page(f))
    assert form.status_code == 200
    text = html.unescape(form.text)
    assert f'<option value="{f.new["id"]}"' in text
    assert f'<option value="{f.old["id"]}"' not in text  # not replaced by itself
    assert f'name="version.{f.shop_142["id"]}"' in text and 'value="1.4.3"' in text
    assert 'value="1.5.1"' in text and "gw-1, gw-2" in text
    assert "Replace now" not in text  # no plan shown yet, nothing to confirm


async def test_plan_step_shows_the_plan_and_changes_nothing(web, api, database, tenant):
    f = await fleet(api, database, tenant.id)
    response = await post_form(web, _page(f), _page(f), {"with": f.new["id"], "step": "plan"})
    assert response.status_code == 200, response.text
    text = html.unescape(response.text)
    assert "2 new releases in 1 application; 2 deployments upgraded on 2 devices" in text
    assert "1.4.2 → <strong>1.4.3</strong>" in text and "Replace now" in text
    assert f'name="planned_with" value="{f.new["id"]}"' in text
    assert await _releases(api, f.shop["id"]) == ["1.4.2", "1.5.0"]


async def test_confirm_executes_the_plan_with_the_versions_on_the_page(web, api, database, tenant):
    f = await fleet(api, database, tenant.id)
    planned = await post_form(web, _page(f), _page(f), {"with": f.new["id"], "step": "plan"})
    response = await web.post(
        _page(f),
        data={
            "csrf_token": csrf_of(planned.text),
            "with": f.new["id"],
            "planned_with": f.new["id"],
            "step": "confirm",
            f"version.{f.shop_142['id']}": "1.4.7",
            f"version.{f.shop_150['id']}": "1.5.1",
        },
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/image-credentials/{f.old['id']}"
    shown = await web.get(response.headers["location"])
    assert "2 new release(s), 2 deployment(s) upgraded" in html.unescape(shown.text)
    assert "None of these releases is deployed" in html.unescape(shown.text)
    assert await _releases(api, f.shop["id"]) == ["1.4.2", "1.4.7", "1.5.0", "1.5.1"]


async def test_confirm_after_changing_the_choice_shows_the_new_plan_first(
    web, api, database, tenant
):
    f = await fleet(api, database, tenant.id)
    response = await post_form(
        web,
        _page(f),
        _page(f),
        {"with": f.new["id"], "planned_with": str(uuid.uuid4()), "step": "confirm"},
    )
    assert response.status_code == 200, response.text
    assert "Replace now" in response.text
    assert await _releases(api, f.shop["id"]) == ["1.4.2", "1.5.0"]


async def test_a_taken_version_is_shown_next_to_its_input(web, api, database, tenant):
    f = await fleet(api, database, tenant.id)
    data = {"with": f.new["id"], "step": "plan", f"version.{f.shop_142['id']}": "1.5.0"}
    response = await post_form(web, _page(f), _page(f), data)
    assert response.status_code == 409, response.text
    text = html.unescape(response.text)
    field = f"version.{f.shop_142['id']}"
    assert "already has a release 1.5.0" in text
    assert f'name="{field}"' in text and 'value="1.5.0"' in text  # kept as typed
    assert 'aria-invalid="true"' in text
    assert "Replace now" not in text


async def test_no_choice_and_a_registry_conflict_are_shown_on_the_page(web, api, database, tenant):
    f = await fleet(api, database, tenant.id)
    response = await post_form(web, _page(f), _page(f), {"with": "", "step": "plan"})
    assert response.status_code == 422, response.text
    assert 'aria-invalid="true"' in response.text
    bound = await api.post(
        "/api/v1/image-credentials",
        json={"label": "hub", "username": "u", "password": "p-1", "registry": "docker.io"},
    )
    response = await post_form(
        web, _page(f), _page(f), {"with": bound.json()["id"], "step": "plan"}
    )
    assert response.status_code == 409, response.text
    assert "bound to docker.io" in html.unescape(response.text)


async def test_unknown_credentials_answer_the_404_page(web):
    response = await web.get(f"/image-credentials/{uuid.uuid4()}/replace")
    assert response.status_code == 404
    assert "do not exist" in response.text

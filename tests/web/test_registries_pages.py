"""Brokered registry pages: broker one, the YAML to paste, the bundle, accounts, delete."""

from __future__ import annotations

import html
import re

from tests.web.conftest import post_form


async def _brokered(web, host="pages.registry.example:5000"):
    response = await post_form(web, "/registries", "/registries", {"host": host, "service": ""})
    assert response.status_code == 303, response.text
    return response.headers["location"]


async def test_broker_a_registry_then_its_page_shows_the_yaml_and_bundle(web, api):
    location = await _brokered(web)
    registry_id = location.rsplit("/", 1)[1]
    page = html.unescape((await web.get(location)).text)
    realm = f"http://127.0.0.1:8000/registry/v1/{registry_id}/token"
    assert f'realm: "{realm}"' in page
    assert 'service: "pages.registry.example:5000"' in page
    assert f'issuer: "edgedock/{registry_id}"' in page
    assert "rootcertbundle:" in page
    bundle = await web.get(f"{location}/bundle.pem")
    assert bundle.status_code == 200 and bundle.text.count("BEGIN CERTIFICATE") == 2
    assert "attachment" in bundle.headers["content-disposition"]
    assert "pages.registry.example:5000" in (await web.get("/registries")).text


async def test_registry_form_errors_show_next_to_the_field(web, api):
    bad = await post_form(web, "/registries", "/registries", {"host": "not a host"})
    assert bad.status_code == 422 and 'id="host-error"' in bad.text
    await _brokered(web, "dup.example")
    again = await post_form(web, "/registries", "/registries", {"host": "DUP.example"})
    assert again.status_code == 409 and 'id="host-error"' in again.text


async def test_account_secret_shown_once_then_revoked(web, api):
    location = await _brokered(web)
    created = await post_form(
        web, location, f"{location}/accounts", {"name": "ci", "rules": "team/*=pull,push\n"}
    )
    assert created.status_code == 201, created.text
    secret = re.search(r'id="account-secret" value="([^"]+)"', created.text).group(1)
    assert secret.startswith("edra_")
    detail = (await web.get(location)).text
    assert "ci" in detail and secret not in detail
    account_id = re.search(r"/accounts/([0-9a-f-]{36})/delete", detail).group(1)
    revoked = await post_form(web, location, f"{location}/accounts/{account_id}/delete", {})
    assert revoked.status_code == 303
    assert f"/accounts/{account_id}/delete" not in (await web.get(location)).text


async def test_bad_account_rule_is_shown_on_the_page(web, api):
    location = await _brokered(web)
    bad = await post_form(
        web, location, f"{location}/accounts", {"name": "ci", "rules": "team/*=fly"}
    )
    assert bad.status_code == 422 and "actions must be among" in bad.text


async def test_delete_registry_needs_the_host_typed(web, api):
    location = await _brokered(web)
    wrong = await post_form(web, location, f"{location}/delete", {"confirm_host": "nope"})
    assert wrong.status_code == 422 and 'id="confirm_host-error"' in wrong.text
    done = await post_form(
        web, location, f"{location}/delete", {"confirm_host": "pages.registry.example:5000"}
    )
    assert done.status_code == 303
    assert (await web.get(location)).status_code == 404


async def test_other_tenant_gets_404_on_registry_pages(web, other_web, api):
    location = await _brokered(web)
    assert (await other_web.get(location)).status_code == 404
    assert (await other_web.get(f"{location}/bundle.pem")).status_code == 404


async def test_release_and_deployment_pages_show_brokered(web, api):
    from tests.registries import helpers

    await helpers.registry(api)
    release, _device, deployment = await helpers.brokered_deployment(api)
    for page in (f"/releases/{release['id']}", f"/deployments/{deployment['id']}"):
        response = await web.get(page)
        assert response.status_code == 200, page
        assert ">brokered</span>" in response.text, page

"""The "Replace with…" page of credentials: pick the new credentials, see the plan (a dry run),
confirm to execute it. Refusals are shown on the page, next to the field they concern.

Both steps run without a request-wide transaction: the confirm step may first ask the registry
(`check`), and the replace then opens its own unit of work, as the API does.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from edgedock import versions
from edgedock.credentials import api as credentials_api
from edgedock.credentials import service as credential_service
from edgedock.errors import EdgedockError
from edgedock.read import release_use
from edgedock.rotation import service as rotation_service
from edgedock.rotation.schemas import ReplacePlan, ReplaceRequest
from edgedock.server import forms, web
from edgedock.server.deps import State
from edgedock.server.web_auth import BriefCheckedForm, BriefSignedIn, WebUser, text

router = APIRouter(prefix="/image-credentials", include_in_schema=False)
SECTION = "credentials"
VERSION_FIELD = "version."
CANDIDATES = 200


@router.get("/{credential_id}/replace")
async def replace_form(
    request: Request, credential_id: str, state: State, user: BriefSignedIn
) -> Response:
    return await _page(request, state, user, credential_id, chosen={})


@router.post("/{credential_id}/replace")
async def replace_credentials(
    request: Request, credential_id: str, state: State, user: BriefSignedIn, form: BriefCheckedForm
) -> Response:
    """`step=plan` answers the dry run; `step=confirm` executes, unless the credentials chosen
    changed since the plan shown (then the new plan is shown first). The successor versions
    are the inputs of the page's release table, sent with both steps."""
    old_id = credentials_api.parse_id(credential_id)
    chosen = _chosen(form)
    confirm = text(form, "step") == "confirm" and chosen["with"] == text(form, "planned_with")
    try:
        data = ReplaceRequest.model_validate(
            {
                "with": chosen["with"],
                "dry_run": not confirm,
                "force": chosen["force"],
                "check": chosen["check"] and confirm,
                "versions": chosen["versions"],
            }
        )
        plan = await _replace(state, user, old_id=old_id, data=data)
    except ValidationError as exc:
        errors = {_field(k): v for k, v in forms.errors_of(exc).items()}
        return await _page(
            request, state, user, credential_id, chosen=chosen, errors=errors, status=422
        )
    except EdgedockError as exc:
        if exc.status >= 500 or (exc.status == 404 and exc.field is None):
            raise
        errors = {_field(exc.field or "form"): exc.message}
        return await _page(
            request, state, user, credential_id, chosen=chosen, errors=errors, status=exc.status
        )
    if not confirm:
        return await _page(request, state, user, credential_id, chosen=chosen, plan=plan)
    flash = (
        f"Replaced “{plan.old.label}” with “{plan.new.label}”: {len(plan.releases)} new "
        f"release(s), {len(plan.deployments)} deployment(s) upgraded."
    )
    return web.redirect(request, f"/image-credentials/{old_id}", flash=flash)


async def _replace(
    state: State, user: WebUser, *, old_id: uuid.UUID, data: ReplaceRequest
) -> ReplacePlan:
    checked = None
    if data.check:
        checked = await rotation_service.check_new(
            state.database,
            actor=user.actor,
            keyring=state.keyring,
            insecure=state.settings.insecure_registry_rules,
            old_id=old_id,
            new_id=data.new_id,
            transport=state.registry_transport,
        )
    async with state.database.transaction() as session:
        return await rotation_service.replace(
            session, actor=user.actor, old_id=old_id, data=data, checked=checked
        )


def _chosen(form: FormData) -> dict[str, Any]:
    return {
        "with": text(form, "with").strip(),
        "force": bool(text(form, "force")),
        "check": bool(text(form, "check")),
        "versions": _versions(form),
    }


def _versions(form: FormData) -> dict[str, str]:
    """The successor versions shown on the plan, as the person left them."""
    return {
        key.removeprefix(VERSION_FIELD): value.strip()
        for key, value in form.multi_items()
        if key.startswith(VERSION_FIELD) and isinstance(value, str) and value.strip()
    }


def _field(name: str) -> str:
    """Errors on `versions.<id>` belong to the input `version.<id>` of the plan."""
    if name.startswith("versions."):
        return VERSION_FIELD + name.removeprefix("versions.")
    return name if name in ("with", "form") or name.startswith(VERSION_FIELD) else "form"


def _row(use: release_use.ReleaseUse, versions_given: dict[str, str]) -> dict[str, Any]:
    """A release the replace changes, with the successor version to show in its input."""
    return {
        "field": f"{VERSION_FIELD}{use.release_id}",
        "release_id": use.release_id,
        "application_id": use.application_id,
        "application": use.application,
        "from_version": use.version,
        "highest": use.highest,
        "containers": ", ".join(use.containers),
        "devices": ", ".join(d.device for d in use.deployments),
        "version": versions_given.get(str(use.release_id), versions.next_patch(use.version) or ""),
    }


async def _page(
    request: Request,
    state: State,
    user: WebUser,
    credential_id: str,
    *,
    chosen: dict[str, Any],
    plan: ReplacePlan | None = None,
    errors: forms.FieldErrors | None = None,
    status: int = 200,
) -> Response:
    tenant_id = user.actor.tenant_id
    async with state.database.snapshot() as session:
        old = await credential_service.get(
            session, tenant_id=tenant_id, credential_id=credentials_api.parse_id(credential_id)
        )
        others = await credential_service.search(session, tenant_id=tenant_id, limit=CANDIDATES)
        uses = await release_use.current_uses(session, tenant_id=tenant_id, credential_id=old.id)
    chosen = {"with": "", "force": False, "check": False, "versions": {}, **chosen}
    context = {
        "old": {"id": old.id, "label": old.label, "username": old.username},
        "candidates": [c for c in others.items if c.id != old.id],
        "chosen": chosen,
        "rows": [_row(u, chosen["versions"]) for u in uses],
        "plan": plan,
        "errors": errors or {},
    }
    return web.render(
        request, "rotation/replace.html", context, user=user, status=status, section=SECTION
    )

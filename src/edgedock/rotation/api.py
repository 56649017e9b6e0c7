"""REST endpoint for rotation: POST /image-credentials/{credential_id}/replace."""

from __future__ import annotations

from fastapi import APIRouter

from edgedock.credentials import api as credentials_api
from edgedock.rotation import service as rotation_service
from edgedock.rotation.schemas import ReplacePlan, ReplaceRequest
from edgedock.server.deps import BriefActor, State

router = APIRouter(prefix="/image-credentials", tags=["image credentials"])


@router.post("/{credential_id}/replace")
async def replace_credentials(
    credential_id: str, data: ReplaceRequest, state: State, actor: BriefActor
) -> ReplacePlan:
    """Replace the credentials with `with` in every release that is deployed or its
    application's highest version: a successor release each (next patch version, or the one
    given in `versions`) and every deployment upgraded to it, in one transaction. With
    `dry_run`, the same plan and no change. With `check`, the registry is asked first whether
    it lets the new credentials pull every affected image.

    Not in the request's transaction: a check calls out to the registry first, and the
    replace then opens its own unit of work.
    """
    old_id = credentials_api.parse_id(credential_id)
    checked = None
    if data.check:
        checked = await rotation_service.check_new(
            state.database,
            actor=actor,
            keyring=state.keyring,
            insecure=state.settings.insecure_registry_rules,
            old_id=old_id,
            new_id=data.new_id,
            transport=state.registry_transport,
        )
    async with state.database.transaction() as session:
        return await rotation_service.replace(
            session, actor=actor, old_id=old_id, data=data, checked=checked
        )

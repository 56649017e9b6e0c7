"""Dependencies of the credentials routes: the expiry warning window from the settings."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import Depends

from edgedock.server.deps import State


async def expiry_warning(state: State) -> timedelta:
    return state.settings.credentials_expiry_warning


ExpiryWarning = Annotated[timedelta, Depends(expiry_warning)]

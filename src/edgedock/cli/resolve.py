"""Names and labels where the CLI takes ids: what people type, turned into what the API takes.

A value that is a UUID is taken as the id. Anything else is looked up with the list APIs' exact
filters (`?name=`, `?label=`, `?version=`): names and labels are unique per tenant
(case-insensitively), so a lookup finds one or none. A release is `APP@VERSION`, or a bare
version when only one application has it. Deployments have no name of their own: one
application is deployed once per device, so `DEVICE/APP` names one.
"""

from __future__ import annotations

import uuid
from typing import Any

from edgedock.cli.client import ApiClient
from edgedock.cli.output import fail


def is_id(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def application(api: ApiClient, value: str) -> str:
    """The id of the application with this id or name."""
    if is_id(value):
        return value
    return _one(api.get("/applications", params={"name": value})["items"], "application", value)


def device(api: ApiClient, value: str) -> str:
    """The id of the device with this id or name."""
    if is_id(value):
        return value
    return _one(api.get("/devices", params={"name": value})["items"], "device", value)


def devices(api: ApiClient, values: list[str]) -> list[str]:
    return [device(api, value) for value in values]


def credentials(api: ApiClient, value: str) -> str:
    """The id of the image credentials with this id or label."""
    if is_id(value):
        return value
    found = api.get("/image-credentials", params={"label": value})["items"]
    return _one(found, "image credentials", value)


def release(api: ApiClient, value: str, *, application_id: str | None = None) -> str:
    """The id of the release with this id, `APP@VERSION`, or bare `VERSION`.

    A bare version is looked up in `application_id` when the command knows the application (an
    upgrade does), otherwise in every application: more than one is an ambiguity to name.
    """
    if is_id(value):
        return value
    if "@" in value:
        app_name, _, version = value.rpartition("@")
        app_id = application(api, app_name)
        found = api.get(f"/applications/{app_id}/releases", params={"version": version})["items"]
        return _one(found, "release", value)
    if application_id is not None:
        path = f"/applications/{application_id}/releases"
        found = api.get(path, params={"version": value})["items"]
        return _one(found, "release", value, hint="in this deployment's application")
    found = api.paginate("/releases", {"version": value})
    if len(found) > 1:
        choices = ", ".join(sorted(f"{r['application']}@{r['version']}" for r in found))
        fail(f"release {value!r} is ambiguous: {choices}; name one as APP@VERSION")
    return _one(found, "release", value, hint="name it as APP@VERSION or by its id")


def deployment(api: ApiClient, value: str) -> str:
    """The id of the deployment with this id, or `DEVICE/APP` (one per device and application)."""
    if is_id(value):
        return value
    device_name, slash, app_name = value.partition("/")
    if not slash or not device_name or not app_name:
        fail(f"deployment {value!r} is neither an id nor DEVICE/APP (e.g. gw-lab-2/sensor-gateway)")
    params = {"device_id": device(api, device_name), "application_id": application(api, app_name)}
    return _one(api.get("/deployments", params=params)["items"], "deployment", value)


def _one(found: list[dict[str, Any]], kind: str, value: str, *, hint: str = "") -> str:
    if not found:
        fail(f"{kind} {value!r} not found" + (f" {hint}" if hint else ""))
    if len(found) > 1:  # names are unique; kept so that a change there cannot pick one silently
        fail(f"{kind} {value!r} is ambiguous: {', '.join(str(f['id']) for f in found)}")
    return str(found[0]["id"])

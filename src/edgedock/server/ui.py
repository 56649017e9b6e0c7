"""Wiring the web UI into the app: static files, the page routers and the error page hook."""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

from edgedock.applications import pages as application_pages
from edgedock.audit import pages as audit_pages
from edgedock.credentials import pages as credential_pages
from edgedock.deployments import pages as deployment_pages
from edgedock.devices import pages as device_pages
from edgedock.registries import pages as registry_pages
from edgedock.releases import pages as release_pages
from edgedock.rotation import pages as rotation_pages
from edgedock.server import agent_downloads, web
from edgedock.server.deps import Session
from edgedock.server.web_auth import SignedIn
from edgedock.tokens import pages as token_pages

home = APIRouter(include_in_schema=False)


@home.get("/")
async def show_home(request: Request, session: Session, user: SignedIn) -> Response:
    return web.redirect(request, "/image-credentials")


@home.get("/favicon.ico")
async def get_favicon() -> Response:
    """Browsers ask for /favicon.ico before they read the page's icon link: the same SVG."""
    icon = files("edgedock.server") / "static" / "favicon.svg"
    return FileResponse(
        str(icon), media_type="image/svg+xml", headers={"Cache-Control": "max-age=86400"}
    )


def install(app: FastAPI) -> None:
    static = files("edgedock.server") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    app.state.render_error = web.render_error
    for router in (
        home,
        token_pages.router,
        credential_pages.router,
        rotation_pages.router,
        application_pages.router,
        release_pages.router,
        device_pages.router,
        deployment_pages.router,
        registry_pages.router,
        audit_pages.router,
        agent_downloads.router,
    ):
        app.include_router(router)

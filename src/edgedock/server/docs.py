"""The interactive API docs (/docs), off unless EDGEDOCK_DOCS=1, and served from this server.

FastAPI's default /docs and /redoc pull their scripts from a public CDN, on the origin that
holds the session cookie, with an inline start-up script, so they cannot run under the pages'
Content-Security-Policy. Here Swagger UI 5 (OpenAPI 3.1, which FastAPI writes) is vendored in
`docs_assets/`, its start-up script is a static file, and the page carries the same security
headers as every other page. There is no /redoc: one docs page is enough to vendor.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, HTMLResponse, Response

from edgedock.errors import NotFound
from edgedock.server import web

# The only files of the bundle the page needs; nothing else in its folder is served.
_ASSETS = {"swagger-ui.css": "text/css", "swagger-ui-bundle.js": "text/javascript"}


def install(app: FastAPI) -> None:
    bundle = Path(str(files("edgedock.server") / "docs_assets"))
    router = APIRouter(include_in_schema=False)

    @router.get("/docs")
    async def show_docs() -> Response:
        html = web.templates.get_template("docs.html").render(
            {"title": app.title, "openapi_url": app.openapi_url}
        )
        return web.secure_headers(HTMLResponse(html))

    @router.get("/docs/assets/{name}")
    async def docs_asset(name: str) -> Response:
        if name not in _ASSETS:
            raise NotFound(f"no docs asset {name}")
        response = FileResponse(bundle / name, media_type=_ASSETS[name])
        response.headers["Cache-Control"] = "public, max-age=86400"
        return web.secure_headers(response)

    app.include_router(router)

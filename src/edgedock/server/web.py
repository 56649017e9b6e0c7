"""Rendering pages: the Jinja2 environment, page responses, flash messages and error pages.

Templates only loop, branch and format: every value they show arrives ready in the context.
Every page goes out with `Cache-Control: no-store` (pages show tenant data, and the device page
shows a token once) and a Content-Security-Policy that allows nothing but this server's own
files, so the UI works with no inline script and loads nothing from the internet.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from edgedock.server import web_auth

FLASH_COOKIE = "edgedock_flash"
_SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}
_STATUS_TITLES = {
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    408: "Too slow",
    409: "Conflict",
    410: "Gone",
    413: "Too large",
    422: "Invalid request",
}


def format_time(value: datetime | None) -> str:
    if value is None:
        return "—"
    return value.strftime("%Y-%m-%d %H:%M UTC")


def format_time_exact(value: datetime | None) -> str:
    """To the second: for timelines and reports, where the order of events matters."""
    if value is None:
        return "—"
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


def event_words(kind: str) -> str:
    """A timeline kind as a person reads it: `pull_failed` → `pull failed`."""
    return EVENT_WORDS.get(kind) or kind.replace("_", " ").replace(".", " ")


EVENT_WORDS = {
    "deployed": "deployed",
    "upgrade_requested": "upgrade requested",
    "start_requested": "start requested",
    "stop_requested": "stop requested",
    "pull_failed": "pull failed",
    "pulled": "image pulled",
    "created": "container created",
    "started": "container started",
    "stopped": "container stopped",
    "removed": "container removed",
    "create_failed": "create failed",
    "start_failed": "start failed",
    "stop_failed": "stop failed",
    "remove_failed": "remove failed",
    "status_pending": "now pending",
    "status_pulling": "now pulling",
    "status_created": "now created",
    "status_running": "now running",
    "status_stopped": "now stopped",
    "status_error": "now in error",
}


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("edgedock.server", "templates"),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = format_time
    env.filters["when_exact"] = format_time_exact
    env.filters["event_words"] = event_words
    env.filters["iso"] = lambda value: value.isoformat() if value else ""
    env.filters["dom_id"] = lambda name: re.sub(r"[^A-Za-z0-9_-]+", "-", str(name)).strip("-")
    return env


templates = _environment()


def secure_headers(response: Response) -> Response:
    for name, value in _SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def render(
    request: Request,
    name: str,
    context: Mapping[str, Any],
    *,
    user: web_auth.Chrome | None = None,
    status: int = 200,
    section: str | None = None,
) -> HTMLResponse:
    """Render `name` inside the layout; `user` shows the navigation and the sign-out button."""
    flash = _read_flash(request)
    html = templates.get_template(name).render(
        {**context, "user": user, "flash": flash, "section": section}
    )
    response = HTMLResponse(html, status_code=status)
    if flash is not None:
        response.delete_cookie(FLASH_COOKIE, path="/")
    secure_headers(response)
    return response


def redirect(request: Request, url: str, *, flash: str | None = None) -> RedirectResponse:
    """303 See Other, so that reloading the next page never repeats a POST."""
    response = RedirectResponse(url, status_code=303)
    if flash is not None:
        encoded = base64.urlsafe_b64encode(flash.encode()).decode()
        response.set_cookie(
            FLASH_COOKIE,
            encoded,
            max_age=60,
            path="/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
    secure_headers(response)
    return response


def _read_flash(request: Request) -> str | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        return base64.urlsafe_b64decode(raw.encode()).decode()[:500]
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def render_error(request: Request, status: int, message: str) -> Response:
    """The page side of the one error handler (server/handlers.py): error.html, same status.

    A 401 means the session is missing or no longer valid: the answer is the sign-in page,
    coming back to where the person was.
    """
    if status == 401:
        target = request.url.path if request.method == "GET" else "/"
        response = redirect(request, f"/sign-in?next={quote(target, safe='/')}")
        web_auth.clear_session(response)
        return response
    title = _STATUS_TITLES.get(status, "Something went wrong")
    return render(
        request,
        "error.html",
        {"status": status, "title": title, "message": message},
        user=web_auth.unverified_user(request),
        status=status,
    )

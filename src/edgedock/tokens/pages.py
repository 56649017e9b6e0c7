"""Signing in to the web UI with an API token, and signing out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from edgedock.errors import Unauthorized
from edgedock.server import web, web_auth
from edgedock.server.deps import Session
from edgedock.tokens import service as token_service

router = APIRouter(include_in_schema=False)


def safe_next(value: str | None) -> str:
    """Only a path on this server: `next` must never send anyone to another site."""
    if value and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value
    return "/"


def _sign_in_page(request: Request, *, next_url: str, error: str | None, status: int) -> Response:
    value = web_auth.new_sign_in_token()
    response = web.render(
        request,
        "sign_in.html",
        {"csrf_token": value, "next": next_url, "error": error},
        status=status,
    )
    web_auth.set_sign_in_cookie(response, request, value)
    return response


@router.get("/sign-in")
async def sign_in_form(request: Request, next: str | None = None) -> Response:
    return _sign_in_page(request, next_url=safe_next(next), error=None, status=200)


@router.post("/sign-in")
async def sign_in(request: Request, form: web_auth.SignInForm, session: Session) -> Response:
    token = web_auth.text(form, "token").strip()
    next_url = safe_next(web_auth.text(form, "next"))
    if not token:
        return _sign_in_page(
            request, next_url=next_url, error="Paste an API token to sign in.", status=422
        )
    try:
        secret = await token_service.start_session(session, token=token)
    except Unauthorized:
        return _sign_in_page(
            request,
            next_url=next_url,
            error="That API token is not valid. Check it, or ask an admin for a new one.",
            status=401,
        )
    response = web.redirect(request, next_url)
    web_auth.start_session(response, request, secret)
    return response


@router.post("/sign-out")
async def sign_out(request: Request, session: Session, form: web_auth.CheckedForm) -> Response:
    """Ends the session on the server: the cookie, replayed, opens nothing afterwards."""
    secret = web_auth.session_secret(request)
    if secret:
        await token_service.end_session(session, secret=secret)
    response = web.redirect(request, "/sign-in", flash="You are signed out.")
    web_auth.clear_session(response)
    return response

"""Web sessions and CSRF protection for the pages.

The session design, and why:

* Signing in means pasting an API token. The server checks it, records a web session
  (`web_session`: only a hash of its random secret, the token it came from, when it expires)
  and puts the session's secret in a cookie: HttpOnly, SameSite=Strict, Secure when the
  request came over HTTPS. Each page looks the session up: signing out marks it ended on the
  server, the 12-hour lifetime is the server's `expires_at` (the cookie's Max-Age only tidies
  the browser), and revoking the API token ends its sessions at once, on every replica. A
  stolen cookie is therefore worth less than the token: it never reveals the token and dies
  with the session.
* CSRF uses a synchronizer token tied to the session: HMAC-SHA256 keyed with the session's
  secret. It is stable for the session (any open tab's forms keep working), different for every
  session, useless for recovering the secret, and needs no storage. Every POST must carry it in
  the form field `csrf_token`; without it, or with another session's, the answer is 403 before
  the page's code runs. SameSite=Strict already keeps the cookie off cross-site requests; the
  token is the second, independent lock.
* The sign-in form has no session yet, so it uses a double-submit token: a random value set as
  a SameSite=Strict cookie by the sign-in page and repeated in its form. That stops a site from
  signing a person in under someone else's token (login CSRF).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Response
from starlette.datastructures import FormData

from edgedock.actors import Actor
from edgedock.errors import Forbidden, Unauthorized
from edgedock.server.deps import Session, State
from edgedock.tokens import service as token_service

SESSION_COOKIE = "edgedock_session"
SIGN_IN_COOKIE = "edgedock_sign_in"
CSRF_FIELD = "csrf_token"
_CSRF_CONTEXT = b"edgedock web csrf v1"


class SignInRequired(Unauthorized):
    code = "sign_in_required"


class CsrfRefused(Forbidden):
    code = "csrf_refused"


@dataclass(frozen=True, slots=True)
class Chrome:
    """What the layout needs to show the navigation and a working sign-out button."""

    csrf_token: str


@dataclass(frozen=True, slots=True)
class WebUser(Chrome):
    """A signed-in person: the actor the services act for, plus the page's CSRF token."""

    actor: Actor


def csrf_token_for(session_secret: str) -> str:
    return hmac.new(session_secret.encode(), _CSRF_CONTEXT, hashlib.sha256).hexdigest()


def unverified_user(request: Request) -> Chrome | None:
    """For error pages only: the layout of whoever holds a session cookie, checked or not.

    Showing the navigation to a stale cookie is harmless; every link re-checks the session.
    """
    token = request.cookies.get(SESSION_COOKIE)
    return Chrome(csrf_token_for(token)) if token else None


async def web_user(request: Request, session: Session) -> WebUser:
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret:
        raise SignInRequired("sign in first")
    actor = await token_service.authenticate_session(session, secret=secret)
    return WebUser(csrf_token=csrf_token_for(secret), actor=actor)


SignedIn = Annotated[WebUser, Depends(web_user)]


async def brief_web_user(request: Request, state: State) -> WebUser:
    """`web_user` in its own short unit of work, for pages that call out over the network
    (a credentials check): they must not wait for a registry inside the request's transaction."""
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret:
        raise SignInRequired("sign in first")
    async with state.database.transaction() as session:
        actor = await token_service.authenticate_session(session, secret=secret)
    return WebUser(csrf_token=csrf_token_for(secret), actor=actor)


BriefSignedIn = Annotated[WebUser, Depends(brief_web_user)]


def _check(sent: object, expected: str) -> None:
    if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfRefused(
            "this form did not come with a valid security token; reload the page and try again"
        )


async def checked_form(request: Request, user: SignedIn) -> FormData:
    """The submitted form, once its CSRF token has been checked against the session."""
    form = await request.form()
    _check(form.get(CSRF_FIELD), user.csrf_token)
    return form


CheckedForm = Annotated[FormData, Depends(checked_form)]


async def brief_checked_form(request: Request, user: BriefSignedIn) -> FormData:
    """`checked_form` for the pages of `brief_web_user`."""
    form = await request.form()
    _check(form.get(CSRF_FIELD), user.csrf_token)
    return form


BriefCheckedForm = Annotated[FormData, Depends(brief_checked_form)]


def text(form: FormData, name: str) -> str:
    """A form field as text; missing fields and file uploads read as empty."""
    value = form.get(name)
    return value if isinstance(value, str) else ""


def new_sign_in_token() -> str:
    return secrets.token_urlsafe(32)


async def checked_sign_in_form(request: Request) -> FormData:
    """The sign-in form, once its double-submit token matches the sign-in cookie."""
    form = await request.form()
    expected = request.cookies.get(SIGN_IN_COOKIE)
    if not expected:
        raise CsrfRefused("your browser did not send the sign-in cookie; reload the page")
    _check(form.get(CSRF_FIELD), expected)
    return form


SignInForm = Annotated[FormData, Depends(checked_sign_in_form)]


def _cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def set_sign_in_cookie(response: Response, request: Request, value: str) -> None:
    _cookie(response, request, SIGN_IN_COOKIE, value, max_age=3600)


def start_session(response: Response, request: Request, secret: str) -> None:
    max_age = int(token_service.SESSION_LIFETIME.total_seconds())
    _cookie(response, request, SESSION_COOKIE, secret, max_age=max_age)
    response.delete_cookie(SIGN_IN_COOKIE, path="/")


def session_secret(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE)


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")

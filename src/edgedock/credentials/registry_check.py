"""Does a registry accept a login? The Registry v2 auth flow as engines run it, from the server.

`GET /v2/`, then the challenge's Basic or Bearer (a token from the realm with the challenge's
`service` and `repository:<path>:pull`), then `HEAD` of the image's manifest with the Accept
headers engines send: a pass proves pull rights on that image, not just a login. On Bearer a
second token request asks for `pull,push` and reads the token's `access` claim, to flag
credentials that could push (devices only need pull).

Safety, because a release author chooses the image and so the host: requests go only to the
image's registry and to the realm its challenge names; plain HTTP only where
EDGEDOCK_INSECURE_REGISTRIES allows it, for the realm too; no redirects are followed; time-outs
are short and bodies are read bounded. Whatever the registry says is scrubbed of the password
in every encoding (and of the tokens it handed out) before it is surfaced: a registry may echo
the request it was sent.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import datetime

import httpx

from edgedock import references, secret_forms
from edgedock.credentials import registry_words
from edgedock.db import utcnow
from edgedock.insecure_registries import InsecureRegistries
from edgedock.www_authenticate import Challenge, parse_challenges

DOCKER_HUB_REGISTRY = "registry-1.docker.io"
TIMEOUT = httpx.Timeout(5.0, connect=3.0, pool=3.0)
TOTAL_TIMEOUT = 10.0
MAX_BODY = 64 * 1024
MAX_MESSAGE = registry_words.MAX_MESSAGE
MANIFEST_ACCEPT = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)
USER_AGENT = "edgedock-credentials-check"

# status codes of a result
OK = "ok"
UNAUTHORIZED = "unauthorized"  # the login was refused
DENIED = "denied"  # the login was accepted, pull on the image was not
MANIFEST_UNKNOWN = "manifest_unknown"
NAME_UNKNOWN = "name_unknown"
TLS_ERROR = registry_words.TLS_ERROR
CONNECTION_ERROR = registry_words.CONNECTION_ERROR
TIMEOUT_STATUS = registry_words.TIMEOUT
NOT_ALLOWED = "not_allowed"  # a request edgedock will not send (plain HTTP, redirect, realm)
REGISTRY_ERROR = "registry_error"
INVALID_IMAGE = "invalid_image"


@dataclass(frozen=True, slots=True)
class CheckResult:
    ok: bool
    status: str
    message: str
    registry: str
    scheme: str | None  # "basic", "bearer", or None when the registry never asked
    image: str | None
    checked_at: datetime
    granted: tuple[str, ...] = ()  # the actions a Bearer token granted on the image's repository
    can_push: bool | None = None  # None when the registry does not say (Basic, opaque tokens)


class _Stop(Exception):
    """Ends the flow with a result; `message` is already in the registry's words."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class _Flow:
    client: httpx.AsyncClient
    insecure: InsecureRegistries
    username: str
    password: str
    domain: str
    image: references.ImageReference | None
    scheme: str | None = None
    granted: tuple[str, ...] = ()
    can_push: bool | None = None
    tokens: list[str] = field(default_factory=list)


def registry_host(domain: str) -> str:
    """Where the registry API of an image domain is served: Docker Hub's is not docker.io."""
    if domain in (references.DEFAULT_DOMAIN, references.LEGACY_DEFAULT_DOMAIN):
        return DOCKER_HUB_REGISTRY
    return domain


async def check(
    *,
    username: str,
    password: str,
    image: str | None,
    registry: str | None = None,
    insecure: InsecureRegistries,
    transport: httpx.AsyncBaseTransport | None = None,
) -> CheckResult:
    """Run the check; never raises for what the registry or the network does.

    `image` decides the registry; without one, `registry` (a domain as in image names) is
    checked for the login alone.
    """
    reference: references.ImageReference | None = None
    if image is not None:
        try:
            reference = references.pull_reference(image)
        except references.InvalidReference as exc:
            return _result(INVALID_IMAGE, exc.reason, registry or "", None, image)
    domain = reference.domain if reference is not None else (registry or "")
    async with httpx.AsyncClient(
        transport=transport,
        timeout=TIMEOUT,
        follow_redirects=False,
        trust_env=False,
        headers={"User-Agent": USER_AGENT},
    ) as client:
        flow = _Flow(client, insecure, username, password, domain, reference)
        try:
            async with asyncio.timeout(TOTAL_TIMEOUT):
                await _run(flow)
            status, message = OK, _ok_message(flow)
        except _Stop as stop:
            status, message = stop.status, stop.message
        except TimeoutError:
            status, message = TIMEOUT_STATUS, f"no answer within {TOTAL_TIMEOUT:.0f} s"
        except httpx.HTTPError as exc:
            status, message = registry_words.transport_error(exc)
        except httpx.InvalidURL:
            status, message = NOT_ALLOWED, f"{domain!r} does not make a valid registry URL"
    forms = secret_forms.login_forms(username, password) + secret_forms.ordered(flow.tokens)
    return CheckResult(
        ok=status == OK,
        status=status,
        message=registry_words.clean(secret_forms.scrub(message, secret_forms.ordered(forms))),
        registry=domain,
        scheme=flow.scheme,
        image=reference.familiar if reference is not None else None,
        checked_at=utcnow(),
        granted=flow.granted,
        can_push=flow.can_push,
    )


def _result(
    status: str, message: str, registry: str, scheme: str | None, image: str | None
) -> CheckResult:
    return CheckResult(
        status == OK, status, registry_words.clean(message), registry, scheme, image, utcnow()
    )


def _ok_message(flow: _Flow) -> str:
    if flow.scheme is None:
        return "the registry asks for no login"
    if flow.image is None:
        return "login accepted"
    return f"login accepted; pull allowed on {flow.image.path}"


async def _run(flow: _Flow) -> None:
    base = await _base_url(flow, flow.domain)
    first = await _get(flow, f"{base}/v2/")
    if first.status_code == 200:
        await _manifest(flow, base, headers={})  # an open registry: nothing to log in to
        return
    if first.status_code != 401:
        raise _Stop(REGISTRY_ERROR, registry_words.words(first, what="GET /v2/"))
    challenges = parse_challenges(first.headers.get_list("www-authenticate"))
    bearer = next((c for c in challenges if c.scheme == "bearer"), None)
    if bearer is not None:
        flow.scheme = "bearer"
        token = await _token(flow, bearer, actions="pull")
        await _manifest(flow, base, headers={"Authorization": f"Bearer {token}"})
        await _least_privilege(flow, bearer)
        return
    if any(c.scheme == "basic" for c in challenges):
        flow.scheme = "basic"
        headers = {"Authorization": _basic(flow.username, flow.password)}
        login = await _get(flow, f"{base}/v2/", headers=headers)
        if login.status_code in (401, 403):
            raise _Stop(UNAUTHORIZED, registry_words.words(login, what="the login"))
        if login.status_code != 200:
            raise _Stop(REGISTRY_ERROR, registry_words.words(login, what="the login"))
        await _manifest(flow, base, headers=headers)
        return
    raise _Stop(REGISTRY_ERROR, "the registry answered 401 without a Basic or Bearer challenge")


async def _base_url(flow: _Flow, domain: str) -> str:
    host = registry_host(domain)
    if not host:
        raise _Stop(NOT_ALLOWED, "no registry to check: give an image")
    scheme = "http" if await flow.insecure.allows_http(host) else "https"
    return f"{scheme}://{host}"


async def _token(flow: _Flow, challenge: Challenge, *, actions: str) -> str:
    realm = await _checked_realm(flow, challenge.params.get("realm", ""))
    params: dict[str, str] = {}
    if "service" in challenge.params:
        params["service"] = challenge.params["service"]
    if flow.image is not None:
        params["scope"] = f"repository:{flow.image.path}:{actions}"
    headers = {"Authorization": _basic(flow.username, flow.password)}
    answer = await _get(flow, realm.copy_merge_params(params), headers=headers)
    if answer.status_code == 401:
        raise _Stop(UNAUTHORIZED, registry_words.words(answer, what="the token service"))
    if answer.status_code == 403:
        raise _Stop(DENIED, registry_words.words(answer, what="the token service"))
    if answer.status_code != 200:
        raise _Stop(REGISTRY_ERROR, registry_words.words(answer, what="the token service"))
    token = _token_of(answer)
    flow.tokens.append(token)
    return token


async def _checked_realm(flow: _Flow, realm: str) -> httpx.URL:
    """The realm must be somewhere this check may go: https, or http where allowed."""
    try:
        url = httpx.URL(realm)
    except httpx.InvalidURL:
        raise _Stop(NOT_ALLOWED, "the registry's token realm is not a valid URL") from None
    if url.scheme not in ("https", "http") or not url.host or url.userinfo:
        raise _Stop(NOT_ALLOWED, f"the registry's token realm {realm!r} is not an http(s) URL")
    authority = url.host if url.port is None else f"{url.host}:{url.port}"
    if ":" in url.host:
        authority = f"[{url.host}]" + (f":{url.port}" if url.port is not None else "")
    if url.scheme == "http" and not await flow.insecure.allows_http(authority):
        raise _Stop(
            NOT_ALLOWED,
            f"the registry's token realm {realm!r} is plain HTTP on a host that "
            "EDGEDOCK_INSECURE_REGISTRIES does not list",
        )
    return url


def _token_of(answer: httpx.Response) -> str:
    try:
        body = json.loads(answer.content)
    except ValueError:
        raise _Stop(REGISTRY_ERROR, "the token service did not answer JSON") from None
    token = body.get("token") or body.get("access_token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        raise _Stop(REGISTRY_ERROR, "the token service answered without a token")
    return token


async def _manifest(flow: _Flow, base: str, *, headers: dict[str, str]) -> None:
    if flow.image is None:
        return
    pin = flow.image.digest or flow.image.tag
    url = f"{base}/v2/{flow.image.path}/manifests/{pin}"
    headers = {**headers, "Accept": MANIFEST_ACCEPT}
    answer = await _send(flow, "HEAD", url, headers=headers)
    if answer.status_code == 200:
        return
    # A HEAD answer has no body: ask again with GET for the registry's own words.
    answer = await _get(flow, url, headers=headers)
    if answer.status_code == 200:
        return
    words = registry_words.words(answer, what="the manifest")
    codes = registry_words.error_codes(answer)
    if answer.status_code == 404:
        raise _Stop(NAME_UNKNOWN if "NAME_UNKNOWN" in codes else MANIFEST_UNKNOWN, words)
    if answer.status_code in (401, 403):
        if flow.scheme is None:
            raise _Stop(UNAUTHORIZED, words)
        raise _Stop(DENIED, f"login accepted, but no pull on {flow.image.path}: {words}")
    raise _Stop(REGISTRY_ERROR, words)


async def _least_privilege(flow: _Flow, challenge: Challenge) -> None:
    """Ask for pull,push too: what the token grants tells whether the login could push."""
    if flow.image is None:
        return
    try:
        token = await _token(flow, challenge, actions="pull,push")
    except _Stop:
        token = flow.tokens[0]  # a refusal of push says nothing more than the pull token
    granted = _granted(token, repository=flow.image.path)
    if granted is not None:
        flow.granted = tuple(sorted(granted))
        flow.can_push = bool(granted & {"push", "*"})


def _granted(token: str, *, repository: str) -> set[str] | None:
    """The actions a JWT's `access` claim grants on `repository`; None for opaque tokens.

    The signature is not checked: the claim is informational, and the registry, which does
    check it, decided the pull already.
    """
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return None
    access = payload.get("access") if isinstance(payload, dict) else None
    if not isinstance(access, list):
        return None
    actions: set[str] = set()
    for entry in access:
        if (
            isinstance(entry, dict)
            and entry.get("type") == "repository"
            and entry.get("name") == repository
            and isinstance(entry.get("actions"), list)
        ):
            actions.update(str(a) for a in entry["actions"])
    return actions


async def _get(
    flow: _Flow, url: str | httpx.URL, *, headers: dict[str, str] | None = None
) -> httpx.Response:
    return await _send(flow, "GET", url, headers=headers or {})


async def _send(
    flow: _Flow, method: str, url: str | httpx.URL, *, headers: dict[str, str]
) -> httpx.Response:
    """One request, its body read up to MAX_BODY; a redirect ends the check."""
    # identity: the raw bytes read are the bytes kept, no decompression to blow up.
    headers = {"Accept-Encoding": "identity", **headers}
    request = flow.client.build_request(method, url, headers=headers)
    response = await flow.client.send(request, stream=True)
    body = bytearray()
    try:
        async for chunk in response.aiter_raw():
            body += chunk[: MAX_BODY - len(body)]
            if len(body) >= MAX_BODY:
                break
    except httpx.StreamConsumed:  # a transport that read the body already (httpx.MockTransport)
        body = bytearray(response.content[:MAX_BODY])
    finally:
        await response.aclose()
    if response.is_redirect:
        raise _Stop(
            NOT_ALLOWED,
            f"{request.url.host} answered {method} {request.url.path} with a redirect "
            f"({response.status_code}); a credentials check follows none",
        )
    answer = httpx.Response(response.status_code, headers=response.headers, request=request)
    answer._content = bytes(body)
    return answer


def _basic(username: str, password: str) -> str:
    raw = f"{username}:{password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")

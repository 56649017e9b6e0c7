"""The agent's side of the device API (`/device/v1`), with httpx errors translated once, here.

Three calls: the long-polled desired state, the just-in-time registry auth and the status
report. Nothing past this module sees an httpx exception: a server that cannot be reached, times
out or answers 5xx raises `ServerUnavailable`; a refused device token `ServerRejected`; a refused
registry auth `RegistryAuthRefused` (404) or `CredentialsDeleted` (410) with the server's own
message; an answer that is not the protocol `ServerProtocolError`.

The registry auth comes back to the caller and is kept nowhere in this module; httpx logs
requests (method, URL, status) but never bodies or the Authorization header.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pydantic

from edgedock import wire
from edgedock.agent.errors import AgentError

PREFIX = "/device/v1"
# Added to the long-poll wait for the read timeout: the server answers 304 at the end of the
# wait, so only a server that is really stuck hits this.
_LONG_POLL_MARGIN = 15.0
_MESSAGE_LIMIT = 1000

ModelT = TypeVar("ModelT", bound=pydantic.BaseModel)


class ServerError(AgentError):
    """The server did not do what the agent asked."""


class ServerUnavailable(ServerError):
    """No answer, a dropped connection, a timeout or a 5xx: try again later."""


class ServerRejected(ServerError):
    """401 or 403: the device token is wrong, revoked, or the device was deleted."""


class ServerProtocolError(ServerError):
    """An answer that is not what the device API promises (status or body)."""


class RegistryAuthRefused(ServerError):
    """404: the container is not in this device's deployments, or needs no credentials.

    ``str()`` is the server's message, verbatim.
    """


class CredentialsDeleted(RegistryAuthRefused):
    """410: the container's credentials were deleted; the message names them."""


@dataclass(frozen=True)
class DesiredStateUpdate:
    state: wire.DesiredState
    etag: str | None


def read_token(path: Path) -> str:
    """The device token in ``path``, without surrounding white space; `ServerRejected` if empty."""
    token = path.read_text(encoding="utf-8").strip()
    if not token:
        raise ServerRejected(f"the token file {path} is empty")
    return token


class ServerClient:
    """A client of one server's device API, authenticated with one device token."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str,
        timeout: float = 15.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._timeout = timeout
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + PREFIX,
            headers={"Authorization": f"Bearer {token}", "User-Agent": "edgedock-agent"},
            timeout=timeout,
            transport=transport,
            # A device follows its own configuration, not proxy variables it happens to inherit.
            trust_env=False,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ServerClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def desired_state(self, *, etag: str | None, wait: float) -> DesiredStateUpdate | None:
        """Long-poll: the new desired state, or ``None`` when nothing changed within ``wait``."""
        seconds = max(0, math.ceil(wait))
        headers = {"If-None-Match": etag} if etag else {}
        timeout = httpx.Timeout(self._timeout, read=seconds + _LONG_POLL_MARGIN)
        response = self._send(
            "GET", "/desired-state", params={"wait": seconds}, headers=headers, timeout=timeout
        )
        if response.status_code == 304:
            return None
        self._expect(response, 200)
        state = _parse(wire.DesiredState, response)
        return DesiredStateUpdate(state=state, etag=response.headers.get("ETag"))

    def registry_auth(self, *, deployment_id: str, container_id: str) -> wire.RegistryAuthResponse:
        """The X-Registry-Auth for one pull. The caller uses it once and drops it."""
        body = wire.RegistryAuthRequest(deployment_id=deployment_id, container_id=container_id)
        response = self._send("POST", "/registry-auth", json=body.model_dump(mode="json"))
        if response.status_code == 404:
            raise RegistryAuthRefused(_error_message(response, "registry auth refused (404)"))
        if response.status_code == 410:
            raise CredentialsDeleted(_error_message(response, "the credentials were deleted"))
        self._expect(response, 200)
        return _parse(wire.RegistryAuthResponse, response)

    def report_status(self, report: wire.StatusReport) -> None:
        response = self._send("POST", "/status", json=report.model_dump(mode="json"))
        self._expect(response, 204, 200, 202)

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ServerUnavailable(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 500:
            raise ServerUnavailable(f"{method} {path}: the server answered {_status(response)}")
        if response.status_code in (401, 403):
            raise ServerRejected(f"{method} {path}: {_error_message(response, _status(response))}")
        return response

    @staticmethod
    def _expect(response: httpx.Response, *statuses: int) -> None:
        if response.status_code not in statuses:
            detail = _error_message(response, _status(response))
            raise ServerProtocolError(f"{response.request.url.path}: {detail}")


def _status(response: httpx.Response) -> str:
    return f"{response.status_code} {response.reason_phrase}".strip()


def _error_message(response: httpx.Response, default: str) -> str:
    """The message of the device API's error envelope, ``{"error": {"code", "message"}}``."""
    try:
        body = response.json()
    except ValueError:
        return default
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    if isinstance(message, str) and message:
        return message[:_MESSAGE_LIMIT]
    return default


def _parse(model: type[ModelT], response: httpx.Response) -> ModelT:
    try:
        return model.model_validate_json(response.content)
    except pydantic.ValidationError as exc:
        # Not the exception's text: for a registry-auth answer it could quote the value.
        raise ServerProtocolError(
            f"{response.request.url.path}: the answer is not a valid {model.__name__} "
            f"({exc.error_count()} errors)"
        ) from None

"""The agent's side of the device API (`/device/v1`), with httpx errors translated once, here.

Three calls: the long-polled desired state, the just-in-time registry auth and the status
report. Nothing past this module sees an httpx exception: a server that cannot be reached, times
out or answers 5xx raises `ServerUnavailable`; a refused device token `ServerRejected`; a refused
registry auth `RegistryAuthRefused` (404), `CredentialsDeleted` or `CredentialsExpired` (410)
with the server's own message; an answer that is not the protocol `ServerProtocolError`.

Every call has an overall deadline, not only per-read time-outs: a server (or a proxy) that
trickles its answer a byte at a time would otherwise hold the agent, and its reconciliation,
for as long as it likes. A call runs in a short-lived worker thread and is abandoned at its
deadline (its connection closed with the client it used). Answers are read up to a size
limit, so a broken or hostile server cannot make the agent hold an unbounded desired state.

The registry auth comes back to the caller and is kept nowhere in this module; httpx logs
requests (method, URL, status) but never bodies or the Authorization header.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import stat
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pydantic

from edgedock import wire
from edgedock.agent.errors import AgentError

log = logging.getLogger("edgedock.agent")

PREFIX = "/device/v1"
# Added to the long-poll wait for the read timeout: the server answers 304 at the end of the
# wait, so only a server that is really stuck hits this.
_LONG_POLL_MARGIN = 15.0
_MESSAGE_LIMIT = 1000
# The largest answer the agent reads. A desired state of a few hundred containers is well under
# a megabyte; anything near this limit is a server bug, or not edgedock.
MAX_ANSWER_BYTES = 8 * 1024 * 1024

ModelT = TypeVar("ModelT", bound=pydantic.BaseModel)


class ServerError(AgentError):
    """The server did not do what the agent asked."""


class ServerUnavailable(ServerError):
    """No answer, a dropped connection, a timeout or a 5xx: try again later."""


class ServerRejected(ServerError):
    """401 or 403: the device token is wrong, revoked, or the device was deleted."""


class ServerAnswerTooLarge(ServerUnavailable):
    """An answer over `MAX_ANSWER_BYTES`: refused unread, and retried later like an outage."""


class ServerProtocolError(ServerError):
    """An answer that is not what the device API promises (status or body)."""


class RegistryAuthRefused(ServerError):
    """404: the container is not in this device's deployments, or needs no credentials.

    ``str()`` is the server's message, verbatim.
    """


class CredentialsDeleted(RegistryAuthRefused):
    """410: the container's credentials were deleted; the message names them."""


class CredentialsExpired(CredentialsDeleted):
    """410 `credentials_expired`: the credentials expired; the message names them and when.

    A subclass of `CredentialsDeleted`, as the server's answer is the same 410: an agent that
    knows only deleted credentials reports an expiry just as well.
    """


@dataclass(frozen=True)
class DesiredStateUpdate:
    state: wire.DesiredState
    etag: str | None


class TokenFileInsecure(AgentError):
    """The token file can be read or written by users other than its owner: refused."""


def read_token(path: Path) -> str:
    """The device token in ``path``, without surrounding white space.

    Raises `TokenFileInsecure` when group or others have any access to the file (the token is
    the device's identity), `ServerRejected` when it is empty, `OSError` when it cannot be read.
    """
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise TokenFileInsecure(
            f"the token file {path} is open to other users (mode {mode:04o}); "
            f"make it owner-only: chmod 600 {path}"
        )
    token = path.read_text(encoding="utf-8").strip()
    if not token:
        raise ServerRejected(f"the token file {path} is empty")
    return token


def plain_http_warning(server_url: str) -> str | None:
    """What to say about a server URL that sends the token and credentials in clear text.

    Plain HTTP to a loopback address never leaves the machine (a local proxy, a test): no word.
    """
    url = httpx.URL(server_url)
    if url.scheme != "http":
        return None
    host = url.host
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host.endswith(".localhost")
    if loopback:
        return None
    return (
        f"the server URL {server_url} is plain HTTP: this device's token and the registry "
        "credentials it receives cross the network unencrypted; use https://"
    )


class ServerClient:
    """A client of one server's device API, authenticated with one device token."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str,
        timeout: float = 15.0,
        deadline: float = 30.0,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
        token_file: Path | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """``timeout`` bounds each connect, read and write; ``deadline`` a whole call (a long
        poll gets its wait on top). ``token_file`` is named when the server refuses the token,
        and read again by `reload_token`."""
        self._base_url = base_url.rstrip("/") + PREFIX
        self._token = token
        self._timeout = timeout
        self._deadline = deadline
        self._max_answer = max_answer_bytes
        self._transport = transport
        self.token_file = token_file
        self._http = self._new_http()

    def _new_http(self) -> httpx.Client:
        return httpx.Client(
            base_url=self._base_url,
            headers={"Authorization": f"Bearer {self._token}", "User-Agent": "edgedock-agent"},
            timeout=self._timeout,
            transport=self._transport,
            # A device follows its own configuration, not proxy variables it happens to inherit.
            trust_env=False,
        )

    def close(self) -> None:
        self._http.close()

    def reload_token(self) -> bool:
        """Read the token file again; True when it holds a token other than the one in use.

        An operator who re-issues a device's token writes the new one into the file: the agent
        then goes on without a restart.
        """
        if self.token_file is None:
            return False
        try:
            token = read_token(self.token_file)
        except TokenFileInsecure as exc:
            log.error("%s; keeping the token in use", exc)
            return False
        except (OSError, ServerRejected, UnicodeDecodeError):
            return False
        if token == self._token:
            return False
        self._token = token
        self._http.close()
        self._http = self._new_http()
        return True

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
            "GET",
            "/desired-state",
            params={"wait": seconds},
            headers=headers,
            timeout=timeout,
            deadline=self._deadline + seconds + _LONG_POLL_MARGIN,
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
            if _error_code(response) == "credentials_expired":
                raise CredentialsExpired(_error_message(response, "the credentials expired"))
            raise CredentialsDeleted(_error_message(response, "the credentials were deleted"))
        self._expect(response, 200)
        return _parse(wire.RegistryAuthResponse, response)

    def report_status(self, report: wire.StatusReport) -> None:
        response = self._send("POST", "/status", json=report.model_dump(mode="json"))
        self._expect(response, 204, 200, 202)

    def _send(
        self, method: str, path: str, *, deadline: float | None = None, **kwargs: Any
    ) -> httpx.Response:
        response = self._within_deadline(method, path, deadline or self._deadline, kwargs)
        if response.status_code >= 500:
            raise ServerUnavailable(f"{method} {path}: the server answered {_status(response)}")
        if response.status_code in (401, 403):
            detail = _error_message(response, _status(response))
            source = f" (token file {self.token_file})" if self.token_file else ""
            raise ServerRejected(
                f"{method} {path}: the server refused this device's token{source}: {detail}"
            )
        return response

    def _within_deadline(
        self, method: str, path: str, deadline: float, kwargs: dict[str, Any]
    ) -> httpx.Response:
        """Run the call in a worker thread and give up on it at ``deadline``."""
        http = self._http
        outcome: list[httpx.Response | BaseException] = []
        done = threading.Event()

        def call() -> None:
            try:
                outcome.append(self._read(http, method, path, kwargs))
            except BaseException as exc:  # handed over to the caller's thread
                outcome.append(exc)
            finally:
                done.set()

        worker = threading.Thread(target=call, name=f"edgedock-agent {method} {path}", daemon=True)
        worker.start()
        try:
            finished = done.wait(deadline)
        except BaseException:
            self._abandon(http)  # a signal cut the wait short: the call must not outlive it
            raise
        if not finished:
            self._abandon(http)
            raise ServerUnavailable(
                f"{method} {path}: no complete answer within {deadline:.0f} s, gave up"
            )
        result = outcome[0]
        if isinstance(result, httpx.TransportError):
            raise ServerUnavailable(
                f"{method} {path}: {type(result).__name__}: {result}"
            ) from result
        if isinstance(result, BaseException):
            raise result
        return result

    def _abandon(self, http: httpx.Client) -> None:
        """Leave the stuck call its own client, closed, and go on with a fresh one."""
        if http is self._http:
            self._http = self._new_http()
        http.close()

    def _read(
        self, http: httpx.Client, method: str, path: str, kwargs: dict[str, Any]
    ) -> httpx.Response:
        """The whole answer, read up to the size limit (the declared length is checked first)."""
        with http.stream(method, path, **kwargs) as streamed:
            declared = streamed.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > self._max_answer:
                raise self._too_large(method, path)
            body = bytearray()
            for chunk in streamed.iter_bytes():
                body += chunk
                if len(body) > self._max_answer:
                    raise self._too_large(method, path)
        # The body is decoded already: a Content-Encoding kept here would decode it again.
        headers = [
            (k, v) for k, v in streamed.headers.multi_items() if k.lower() != "content-encoding"
        ]
        return httpx.Response(
            streamed.status_code, headers=headers, content=bytes(body), request=streamed.request
        )

    def _too_large(self, method: str, path: str) -> ServerAnswerTooLarge:
        return ServerAnswerTooLarge(
            f"{method} {path}: the answer is larger than {self._max_answer} bytes; refused"
        )

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


def _error_code(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else None


def _parse(model: type[ModelT], response: httpx.Response) -> ModelT:
    try:
        return model.model_validate_json(response.content)
    except pydantic.ValidationError as exc:
        # Not the exception's text: for a registry-auth answer it could quote the value.
        raise ServerProtocolError(
            f"{response.request.url.path}: the answer is not a valid {model.__name__} "
            f"({exc.error_count()} errors)"
        ) from None

"""The agent's engine boundary: Docker Engine API calls (Docker or Podman), errors translated once.

Nothing from the docker SDK or requests leaves this module: a missing socket, a refused or dropped
connection and a timeout become `EngineUnavailable`; an engine that answers a pull with an error
becomes `EnginePullFailed` carrying the engine's own text; any other refusal becomes
`EngineOperationFailed`. Credentials never appear in a message.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import docker
import docker.errors
from docker.utils import parse_repository_tag

from edgedock import container_spec, wire
from edgedock.agent.errors import (
    EngineError,
    EngineOperationFailed,
    EnginePullFailed,
    EngineUnavailable,
)
from edgedock.agent.redact import redact
from edgedock.text import scrub

# Pinned rather than negotiated: negotiating costs a /version round trip inside the constructor, and
# a missing socket would then fail before any method could translate it. Docker >= 20.10 and
# Podman 4 and 5 all serve 1.41.
API_VERSION = "1.41"

_AUTH_HEADER = "X-Registry-Auth"
# Visible ASCII only. Anything else would make requests raise an error that quotes the value.
_HEADER_VALUE = re.compile(r"[!-~]+")


@dataclass(frozen=True)
class ManagedContainer:
    """A container the agent created, rebuilt from the engine's labels alone.

    ``device_id`` is ``None`` for a container made before agents labelled their device.
    """

    device_id: str | None
    deployment_id: str
    container_id: str
    spec_hash: str
    engine_id: str
    name: str
    state: str  # the engine's word: created, running, exited, paused, …
    image: str = ""
    # The release it was made for, from its labels (None on containers made before them).
    release_id: str | None = None
    version: str | None = None


def spec_hash(spec: wire.ContainerSpec) -> str:
    """A short, stable digest of the whole spec: a different hash means the container is stale.

    Fields left at their defaults are not hashed, so a field added to the protocol later does not
    change the hash of every container already running (and so does not recreate them all).
    """
    fields = spec.model_dump(mode="json", exclude_defaults=True)
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def container_config(
    spec: wire.ContainerSpec,
    *,
    device_id: str,
    deployment_id: str,
    spec_hash: str,
    release_id: str | None = None,
    version: str | None = None,
) -> dict[str, Any]:
    """The body of ``POST /containers/create`` for ``spec``, labelled for `managed_containers`."""
    exposed: dict[str, dict[str, Any]] = {}
    bindings: dict[str, list[dict[str, str]]] = {}
    for value in spec.port_bindings:
        try:
            binding = container_spec.parse_port_binding(value)
        except ValueError as exc:
            raise EngineOperationFailed(
                f"container {spec.name}: invalid port binding {value!r}: {exc}"
            ) from None
        exposed[binding.engine_port] = {}
        bindings.setdefault(binding.engine_port, []).append(binding.engine_binding)
    host_config: dict[str, Any] = {
        "PortBindings": bindings,
        "RestartPolicy": {"Name": spec.restart_policy, "MaximumRetryCount": 0},
        "Binds": [_bind(value, container=spec.name) for value in spec.binds],
        "Privileged": spec.privileged,
    }
    if spec.network_mode is not None:
        host_config["NetworkMode"] = spec.network_mode
    config: dict[str, Any] = {
        "Image": spec.image,
        "Env": [f"{key}={value}" for key, value in spec.env.items()],
        "Labels": {
            wire.LABEL_MANAGED: "true",
            wire.LABEL_DEVICE: device_id,
            wire.LABEL_DEPLOYMENT: deployment_id,
            wire.LABEL_CONTAINER: spec.id,
            wire.LABEL_SPEC_HASH: spec_hash,
            **({wire.LABEL_RELEASE: release_id} if release_id else {}),
            **({wire.LABEL_VERSION: version} if version else {}),
        },
        "ExposedPorts": exposed,
        "HostConfig": host_config,
    }
    if spec.command is not None:
        config["Cmd"] = list(spec.command)
    return config


class Engine:
    """One engine at ``url`` (``unix:///run/podman/podman.sock``, ``tcp://host:2375``).

    ``timeout`` bounds every call but a pull; ``pull_timeout`` is the longest silence tolerated
    while a pull streams its progress.
    """

    def __init__(self, url: str, *, timeout: float = 30.0, pull_timeout: float = 600.0) -> None:
        self.url = url
        with _translated(f"connecting to the engine at {url}", url):
            self._api = docker.APIClient(base_url=url, version=API_VERSION, timeout=timeout)
        self._timeout = timeout
        self._pull_timeout = pull_timeout

    def close(self) -> None:
        self._api.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def info(self) -> wire.EngineInfo:
        with _translated("reading the engine version", self.url):
            version = self._api.version()
        components = version.get("Components") or [{}]
        name = str(components[0].get("Name") or "Engine")
        # Cut to what the protocol accepts: an engine's odd answer must not cost its reports.
        return wire.EngineInfo(
            name=_engine_text("Docker Engine" if name == "Engine" else name),
            version=_engine_text(version.get("Version", "")),
            os=_engine_text(version["Os"]) if version.get("Os") else None,
            arch=_engine_text(version["Arch"]) if version.get("Arch") else None,
        )

    def image_present(self, image: str) -> bool:
        with _translated(f"inspecting image {image}", self.url):
            try:
                self._api.inspect_image(image)
            except docker.errors.ImageNotFound:
                return False
        return True

    def pull(self, image: str, *, x_registry_auth: str | None) -> None:
        """Pull ``image``, sending ``x_registry_auth`` as the X-Registry-Auth header byte for byte.

        The server encoded the value for this registry; decoding it and letting the SDK encode it
        again could change what the engine receives. With ``None`` no header is sent at all (the
        SDK's own ``pull`` would fall back to whatever ``~/.docker/config.json`` holds).
        """
        headers: dict[str, str] = {}
        if x_registry_auth is not None:
            if not _HEADER_VALUE.fullmatch(x_registry_auth):
                raise EnginePullFailed("X-Registry-Auth is not a valid header value", image=image)
            headers[_AUTH_HEADER] = x_registry_auth
        params = {"fromImage": image}
        if parse_repository_tag(image)[1] is None:
            params["tag"] = "latest"  # an untagged fromImage makes Docker pull every tag
        try:
            response = self._api.post(
                f"{self._api.base_url}/v{API_VERSION}/images/create",
                params=params,
                headers=headers,
                stream=True,
                timeout=(self._timeout, self._pull_timeout),
            )
            with contextlib.closing(response):
                error = _pull_error(response)
        except OSError as exc:  # requests' exceptions derive from IOError, see _translated
            _forget_auth_header(exc)
            _close_leaked_sockets(exc)
            raise EngineUnavailable(
                f"pulling {image}: the engine connection failed "
                f"({unreachable_cause(exc) or type(exc).__name__}) at {self.url}"
            ) from exc
        if error is not None:
            raise EnginePullFailed(redact(error, x_registry_auth), image=image)

    def managed_containers(self) -> list[ManagedContainer]:
        with _translated("listing managed containers", self.url):
            rows = self._api.containers(all=True, filters={"label": wire.LABEL_MANAGED})
        return [_managed_container(row) for row in rows]

    def create(
        self,
        spec: wire.ContainerSpec,
        *,
        device_id: str,
        deployment_id: str,
        name: str,
        spec_hash: str,
        release_id: str | None = None,
        version: str | None = None,
    ) -> str:
        """Create (not start) the container and return its engine id."""
        config = container_config(
            spec,
            device_id=device_id,
            deployment_id=deployment_id,
            spec_hash=spec_hash,
            release_id=release_id,
            version=version,
        )
        with _translated(f"creating container {name}", self.url):
            created = self._api.create_container_from_config(config, name=name)
        return str(created["Id"])

    def start(self, engine_id: str) -> None:
        with _translated(f"starting container {engine_id}", self.url):
            self._api.start(engine_id)

    def stop(self, engine_id: str, timeout: int = 10) -> None:
        """Stop, killing after ``timeout`` seconds; stopping a stopped container is no error."""
        with _translated(f"stopping container {engine_id}", self.url):
            self._api.stop(engine_id, timeout=timeout)

    def remove(self, engine_id: str) -> None:
        """Remove, running or not; a container that is already gone counts as removed."""
        with (
            _translated(f"removing container {engine_id}", self.url),
            contextlib.suppress(docker.errors.NotFound),
        ):
            self._api.remove_container(engine_id, force=True)

    def state(self, engine_id: str) -> str | None:
        """The engine's state word (``running``, ``exited``, …), or ``None`` if there is none."""
        with _translated(f"inspecting container {engine_id}", self.url):
            try:
                details = self._api.inspect_container(engine_id)
            except docker.errors.NotFound:
                return None
        return str(details["State"]["Status"])


def _engine_text(value: object) -> str:
    return scrub(str(value), wire.MAX_ENGINE_TEXT)


def unreachable_cause(exc: BaseException) -> str | None:
    """Why a connection to the engine failed, in words: the socket is missing, refused, …

    The SDK nests the OS error a few levels deep (requests' ConnectionError holding urllib3's
    ProtocolError holding ``FileNotFoundError(2, …)``); the chain and the arguments are both
    searched.
    """
    seen: set[int] = set()
    pending: list[object] = [exc]
    while pending:
        item = pending.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, FileNotFoundError):
            return "no such socket"
        if isinstance(item, ConnectionRefusedError):
            return "connection refused: nothing serves the socket"
        if isinstance(item, PermissionError):
            return "permission denied: run the agent as root or as a member of the engine's group"
        if isinstance(item, TimeoutError):
            return "timed out"
        pending.extend([item.__cause__, item.__context__, *item.args])
    return None


@contextlib.contextmanager
def _translated(action: str, url: str) -> Iterator[None]:
    try:
        yield
    except docker.errors.APIError as exc:
        raise EngineOperationFailed(f"{action}: {exc.explanation or exc}") from exc
    except docker.errors.DockerException as exc:
        raise EngineError(f"{action}: {exc}") from exc
    except OSError as exc:
        # Every requests exception (ConnectionError, Timeout, ChunkedEncodingError, …) derives from
        # IOError. Catching that spares the agent an import of requests, which is the SDK's
        # business and not on the agent's list of allowed imports.
        _close_leaked_sockets(exc)
        cause = unreachable_cause(exc)
        if cause is None:
            raise EngineUnavailable(f"{action}: {exc}") from exc
        message = f"{action}: the engine at {url} cannot be reached ({cause})"
        raise EngineUnavailable(message) from exc


def _pull_error(response: Any) -> str | None:
    """The error an engine reports for a pull: in the status line, or inside the 200 stream."""
    if response.status_code >= 400:
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("message"), str):
            return str(body["message"])
        return f"the engine answered {response.status_code} {response.reason}"
    for line in response.iter_lines():
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except ValueError:
            return "the engine sent an unreadable pull progress line"
        if isinstance(event, dict) and event.get("error"):
            detail = event.get("errorDetail")
            if isinstance(detail, dict) and detail.get("message"):
                return str(detail["message"])
            return str(event["error"])
    return None


def _close_leaked_sockets(exc: BaseException) -> None:
    """Close the socket the SDK's unix transport leaves open when ``connect()`` fails.

    docker 7.x creates the socket, lets ``connect()`` raise and never closes it (open upstream fix:
    docker/docker-py#3356), so every call against a stopped engine would hold a descriptor until
    the garbage collector ran. The socket is still reachable from the failed call's frames; only
    sockets that never got connected are closed.
    """
    link: BaseException | None = exc
    while link is not None:
        trace = link.__traceback__
        while trace is not None:
            for value in list(trace.tb_frame.f_locals.values()):
                if isinstance(value, socket.socket) and value.fileno() != -1:
                    try:
                        value.getpeername()
                    except OSError:
                        value.close()
            trace = trace.tb_next
        link = link.__cause__ or link.__context__


def _forget_auth_header(exc: BaseException) -> None:
    """Drop the header from the requests kept on requests' exceptions, which outlive this call."""
    link: BaseException | None = exc
    while link is not None:
        response = getattr(link, "response", None)
        for request in (getattr(link, "request", None), getattr(response, "request", None)):
            headers = getattr(request, "headers", None)
            if headers is not None:
                headers.pop(_AUTH_HEADER, None)
        link = link.__cause__ or link.__context__


def _bind(value: str, *, container: str) -> str:
    """The bind in its normal form; one the server would refuse today is refused here too.

    A release stored before binds were checked may hold `/a:/b/../../` (a mount over `/`) or a
    control character: the container is not created rather than handed to the engine.
    """
    try:
        return str(container_spec.parse_bind(value))
    except ValueError as exc:
        message = f"container {container}: invalid bind {value!r}: {exc}"
        raise EngineOperationFailed(message) from None


def _managed_container(row: dict[str, Any]) -> ManagedContainer:
    labels: dict[str, str] = row.get("Labels") or {}
    names: list[str] = row.get("Names") or []
    return ManagedContainer(
        device_id=labels.get(wire.LABEL_DEVICE) or None,  # an empty label names no device either
        deployment_id=labels.get(wire.LABEL_DEPLOYMENT, ""),
        container_id=labels.get(wire.LABEL_CONTAINER, ""),
        spec_hash=labels.get(wire.LABEL_SPEC_HASH, ""),
        engine_id=str(row["Id"]),
        name=names[0].lstrip("/") if names else "",
        state=str(row.get("State", "")),
        image=str(row.get("Image") or ""),
        release_id=labels.get(wire.LABEL_RELEASE) or None,
        version=labels.get(wire.LABEL_VERSION) or None,
    )

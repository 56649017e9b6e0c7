"""One container spec: the settings an engine applies, their bounds, and their one grammar.

Pure (pydantic, the stdlib and `references`), so that the server validates with the rules an
engine applies and the agent reads what the server stored with the very same definitions:
`ContainerSettings` is the stored JSON (`release_container.settings`), the runtime part of the
wire's `ContainerSpec` and of the API's read model; `ContainerSettingsInput` adds the checks
and the normalisation an operator's input goes through, once, before anything is written.

Reading stays lenient on purpose (types only): a rule added later must not make a release
stored earlier unreadable, nor a device refuse its whole desired state. Every `parse_*` and
`check_*` raises `ValueError` with a message that describes the problem without repeating the
value (env values can hold secrets).
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, cast, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)

from edgedock import references

# ASCII classes spelled out: Python's \d and \w match non-ASCII digits and letters.
_DNS_LABEL_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NETWORK_NAME_RE = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*")
_VOLUME_NAME_RE = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+")
_PORT_RE = re.compile(r"[0-9]{1,5}")
# C0 controls, DEL and C1 controls: a path or name holding one is a trap, never a wish.
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")

MAX_ITEMS = 100
MAX_ENV = 200
MAX_TEXT = 32_768
# env and command together: what an engine puts on the process's stack has a limit too.
MAX_PROCESS_TEXT = 262_144
MAX_IMAGE = 500
MAX_DOMAIN = 255  # release_container.image_domain
ENV_NAME_MAX = 255
NETWORK_NAME_MAX = 100
PORT_BINDING_MAX = 64  # "[ffff:…:255.255.255.255]:65535:65535/sctp" fits
BIND_MAX = 4096  # PATH_MAX
BUILTIN_NETWORK_MODES = ("bridge", "host", "none")
Protocol = Literal["tcp", "udp", "sctp"]
RestartPolicy = Literal["no", "always", "unless-stopped", "on-failure"]
PROTOCOLS: tuple[Protocol, ...] = get_args(Protocol)
RESTART_POLICIES: tuple[RestartPolicy, ...] = get_args(RestartPolicy)
_T = TypeVar("_T")
# Bind options both Docker and Podman accept in HostConfig.Binds, by kind: at most one of each.
_BIND_OPTIONS = {
    "mode": ("ro", "rw"),
    "label": ("z", "Z"),
    "propagation": ("private", "rprivate", "shared", "rshared", "slave", "rslave"),
    "copy": ("nocopy",),
}


def error_at(loc: tuple[str | int, ...], message: str) -> ValidationError:
    """A validation error at `loc` below the value being validated.

    Raised inside a validator, pydantic nests it under the enclosing location, so the 422's
    field names the exact item (`containers[1].binds[0]`).
    """
    return ValidationError.from_exception_data(
        "ContainerSettings",
        [{"type": "value_error", "loc": loc, "input": None, "ctx": {"error": message}}],
    )


def check_text(value: str) -> str:
    """Free text that reaches a column or a process: no NUL, no lone surrogate."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must not contain lone surrogates (invalid Unicode)") from None
    return value


def check_dns_label(value: str) -> str:
    if not _DNS_LABEL_RE.fullmatch(value):
        raise ValueError(
            "must be a DNS label: 1 to 63 lower-case letters, digits or '-', "
            "starting and ending with a letter or digit"
        )
    return value


def check_image(value: str) -> str:
    if len(value) > MAX_IMAGE:
        raise ValueError(f"must be at most {MAX_IMAGE} characters")
    try:
        pull = references.pull_reference(value)
    except references.InvalidReference as exc:
        raise ValueError(f"invalid image reference: {exc.reason}") from None
    if len(pull.domain) > MAX_DOMAIN:
        raise ValueError(f"the registry domain must be at most {MAX_DOMAIN} characters")
    return value


def check_env_name(name: str) -> str:
    if len(name) > ENV_NAME_MAX or not _ENV_NAME_RE.fullmatch(name):
        raise ValueError(
            "is not a valid environment variable name: letters, digits and '_', "
            f"not starting with a digit, at most {ENV_NAME_MAX} characters"
        )
    return name


def check_network_mode(value: str) -> str:
    if value in BUILTIN_NETWORK_MODES:
        return value
    if len(value) > NETWORK_NAME_MAX or not _NETWORK_NAME_RE.fullmatch(value):
        raise ValueError(
            "must be bridge, host, none or a network name (letters, digits, '_', '.', '-', "
            f"at most {NETWORK_NAME_MAX} characters)"
        )
    return value


@dataclass(frozen=True, slots=True)
class PortBinding:
    """`host_port` None means the engine picks a free host port; `host_ip` None means all."""

    container_port: int
    host_port: int | None = None
    host_ip: str | None = None
    protocol: Protocol = "tcp"

    def __str__(self) -> str:
        """The normalised text: `[ip:][host:]container[/udp|/sctp]`, tcp left implicit."""
        text = str(self.container_port)
        if self.host_ip is not None:
            ip = f"[{self.host_ip}]" if ":" in self.host_ip else self.host_ip
            text = f"{ip}:{self.host_port or ''}:{text}"
        elif self.host_port is not None:
            text = f"{self.host_port}:{text}"
        return text if self.protocol == "tcp" else f"{text}/{self.protocol}"

    @property
    def engine_port(self) -> str:
        """The key of ExposedPorts and PortBindings in the engine's create body."""
        return f"{self.container_port}/{self.protocol}"

    @property
    def engine_binding(self) -> dict[str, str]:
        return {"HostIp": self.host_ip or "", "HostPort": str(self.host_port or "")}


def overlapping(host_ip: str | None, other: str | None) -> bool:
    """Whether two bindings of one host port would compete for the same address."""
    if host_ip is None or other is None or host_ip == other:
        return True
    family = ":" in host_ip, ":" in other
    return family[0] == family[1] and bool({host_ip, other} & {"0.0.0.0", "::"})  # noqa: S104


_PORT_FORMAT = (
    "must look like 8080:80, 127.0.0.1:8080:80 or 80, optionally followed by /tcp or /udp "
    "(IPv6 host addresses go in brackets: [::1]:8080:80)"
)


def parse_port_binding(text: str) -> PortBinding:
    """`[[host_ip:]host_port:]container_port[/protocol]`; IPv6 host addresses in brackets."""
    if len(text) > PORT_BINDING_MAX:
        raise ValueError(f"must be at most {PORT_BINDING_MAX} characters")
    spec, slash, protocol = text.partition("/")
    if slash and protocol not in PROTOCOLS:
        raise ValueError("protocol must be tcp, udp or sctp")
    host_ip: str | None = None
    if spec.startswith("["):
        address, bracket, rest = spec[1:].partition("]:")
        parts = rest.split(":")
        if not bracket or len(parts) != 2:
            raise ValueError(_PORT_FORMAT)
        host_ip = _ip(address, version=6)
    else:
        parts = spec.split(":")
        if len(parts) > 3:
            raise ValueError(_PORT_FORMAT)
        if len(parts) == 3:
            host_ip = _ip(parts.pop(0), version=4)
    container_port = _port(parts[-1], what="container port")
    host_port = None
    # An empty host port after an address (`127.0.0.1::80`) lets the engine choose one.
    if len(parts) == 2 and (parts[0] or host_ip is None):
        host_port = _port(parts[0], what="host port")
    return PortBinding(container_port, host_port, host_ip, cast(Protocol, protocol or "tcp"))


def _port(text: str, *, what: str) -> int:
    if "-" in text and all(_PORT_RE.fullmatch(p) for p in text.split("-", 1)):
        raise ValueError(f"{what}: port ranges are not supported; list each port")
    if not _PORT_RE.fullmatch(text) or not 1 <= int(text) <= 65535:
        raise ValueError(f"{what} must be a number from 1 to 65535")
    return int(text)


def _ip(text: str, *, version: int) -> str:
    kind = "an IPv4 address" if version == 4 else "an IPv6 address in brackets"
    if "%" in text:  # Python takes any text as a zone; engines take none
        raise ValueError(f"host address must be {kind}, without a %zone")
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        address = None
    if address is None or address.version != version:
        raise ValueError(f"host address must be {kind}")
    return str(address)


@dataclass(frozen=True, slots=True)
class Bind:
    source: str  # an absolute host path, or a named volume
    target: str
    options: tuple[str, ...] = ()  # normalised: rw left out, one of each kind, kinds in order

    @property
    def is_volume(self) -> bool:
        return not self.source.startswith("/")

    @property
    def read_only(self) -> bool:
        return "ro" in self.options

    def __str__(self) -> str:
        text = f"{self.source}:{self.target}"
        return f"{text}:{','.join(self.options)}" if self.options else text


_BIND_FORMAT = "must look like /host/path:/container/path or volume:/path, then :ro or :rw"


def parse_bind(text: str) -> Bind:
    """`source:target[:options]` as Docker's and Podman's `-v` read it, normalised.

    Paths are cleaned as the engine cleans them (`/b/../c/` is `/c`), so a target that
    resolves to `/` is refused here rather than by the engine on the device.
    """
    if len(text) > BIND_MAX:
        raise ValueError(f"must be at most {BIND_MAX} characters")
    if _CONTROL_RE.search(text):
        raise ValueError("must not contain control characters (newline, tab, NUL, …)")
    check_text(text)
    parts = text.split(":")
    if len(parts) not in (2, 3) or not all(parts):
        raise ValueError(_BIND_FORMAT)
    source, target = parts[0], parts[1]
    if source.startswith("/"):
        source = _clean(source)
    elif not _VOLUME_NAME_RE.fullmatch(source):
        raise ValueError(
            "source must be an absolute host path or a volume name "
            "(at least 2 of letters, digits, '_', '.', '-')"
        )
    if not target.startswith("/"):
        raise ValueError("container path must be absolute")
    target = _clean(target)
    if target == "/":
        raise ValueError("container path must not be / (it resolves to the root)")
    options = _bind_options(parts[2] if len(parts) == 3 else "", volume=source[0] != "/")
    return Bind(source, target, options)


def _clean(path: str) -> str:
    """Go's path.Clean for an absolute path: what both engines do to a bind's paths."""
    cleaned = posixpath.normpath(path)
    return "/" + cleaned.lstrip("/")


def _bind_options(text: str, *, volume: bool) -> tuple[str, ...]:
    chosen: dict[str, str] = {}
    for option in text.split(",") if text else []:
        kind = next((k for k, values in _BIND_OPTIONS.items() if option in values), None)
        if kind is None:
            raise ValueError(
                "options must be ro or rw, z or Z, a propagation mode (private, rprivate, "
                "shared, rshared, slave, rslave) or nocopy, separated by commas"
            )
        if kind in chosen:
            raise ValueError(f"options hold two {kind} options ({chosen[kind]}, {option})")
        chosen[kind] = option
    if volume and "propagation" in chosen:
        raise ValueError("a propagation mode applies to host paths, not to named volumes")
    if not volume and "copy" in chosen:
        raise ValueError("nocopy applies to named volumes, not to host paths")
    if chosen.get("mode") == "rw":
        del chosen["mode"]  # the default, left out so that one meaning has one spelling
    return tuple(chosen[kind] for kind in _BIND_OPTIONS if kind in chosen)


class ContainerSettings(BaseModel):
    """The runtime settings of one container: stored as JSON, sent to devices, shown to people.

    Types only, no rules (see the module docstring). A field added later needs a default equal
    to what engines did without it: the agent's spec hash leaves defaults out, so containers
    already running are not recreated, and rows stored before it read as the default.
    """

    model_config = ConfigDict(extra="ignore")

    env: dict[StrictStr, StrictStr] = Field(default_factory=dict)
    command: list[StrictStr] | None = None
    port_bindings: list[StrictStr] = Field(default_factory=list)
    restart_policy: RestartPolicy = "no"
    binds: list[StrictStr] = Field(default_factory=list)
    network_mode: StrictStr | None = None
    privileged: StrictBool = False

    def stored(self) -> dict[str, Any]:
        """The JSON kept in `release_container.settings`: these fields only, all of them."""
        return self.model_dump(mode="json", include=set(ContainerSettings.model_fields))


class ContainerSettingsInput(ContainerSettings):
    """Settings as an operator gives them: bounded, checked as the engine would, normalised."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    @field_validator("env")
    @classmethod
    def _env(cls, env: dict[str, str]) -> dict[str, str]:
        if len(env) > MAX_ENV:
            raise ValueError(f"must have at most {MAX_ENV} variables")
        for name, value in env.items():
            try:
                check_env_name(name)
                _bounded_text(value)
            except ValueError as exc:
                # The name locates the error; one that is not valid Unicode is shown escaped.
                where = name.encode("utf-8", "backslashreplace").decode()
                raise error_at((where,), str(exc)) from None
        return env

    @field_validator("command")
    @classmethod
    def _command(cls, command: list[str] | None) -> list[str] | None:
        if command is None:
            return None
        if not 1 <= len(command) <= MAX_ITEMS:
            raise ValueError(f"must have 1 to {MAX_ITEMS} items, or be null for the image's own")
        for i, item in enumerate(command):
            try:
                _bounded_text(item)
            except ValueError as exc:
                raise error_at((i,), str(exc)) from None
        return command

    @field_validator("port_bindings")
    @classmethod
    def _port_bindings(cls, texts: list[str]) -> list[str]:
        """Normalised, and no host port bound twice on one address (the engine cannot start it)."""
        bindings = _parsed(texts, parse_port_binding)
        bound: dict[tuple[int, str], list[str | None]] = {}
        for i, binding in enumerate(bindings):
            if binding.host_port is None:
                continue
            addresses = bound.setdefault((binding.host_port, binding.protocol), [])
            if any(overlapping(binding.host_ip, other) for other in addresses):
                raise error_at(
                    (i,), f"host port {binding.host_port}/{binding.protocol} is bound twice"
                )
            addresses.append(binding.host_ip)
        return [str(b) for b in bindings]

    @field_validator("binds")
    @classmethod
    def _binds(cls, texts: list[str]) -> list[str]:
        """Normalised, and each container path mounted once (engines refuse a duplicate)."""
        binds = _parsed(texts, parse_bind)
        targets: set[str] = set()
        for i, bind in enumerate(binds):
            if bind.target in targets:
                raise error_at((i,), f"container path {bind.target} is mounted twice")
            targets.add(bind.target)
        return [str(b) for b in binds]

    @field_validator("network_mode")
    @classmethod
    def _network_mode(cls, value: str | None) -> str | None:
        return None if value is None else check_network_mode(value)

    @model_validator(mode="after")
    def _process_text_bounded(self) -> ContainerSettingsInput:
        size = sum(len(k) + len(v) for k, v in self.env.items())
        size += sum(len(item) for item in self.command or [])
        if size > MAX_PROCESS_TEXT:
            raise error_at(
                ("env",),
                f"env and command together must be at most {MAX_PROCESS_TEXT} characters",
            )
        return self


def _bounded_text(value: str) -> str:
    if len(value) > MAX_TEXT:
        raise ValueError(f"must be at most {MAX_TEXT} characters")
    return check_text(value)


def _parsed(texts: list[str], parse: Callable[[str], _T]) -> list[_T]:
    if len(texts) > MAX_ITEMS:
        raise ValueError(f"must have at most {MAX_ITEMS} items")
    parsed: list[_T] = []
    for i, text in enumerate(texts):
        try:
            parsed.append(parse(text))
        except ValueError as exc:
            raise error_at((i,), str(exc)) from None
    return parsed

"""The grammar of a container's runtime settings: names, versions, port bindings, binds.

Pure functions, no I/O, so the server validates with exactly the rules an engine applies and
the agent can parse what the server stored. Each `parse_*` raises `ValueError` with a message
that describes the problem without repeating the value (env values can hold secrets).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Literal

# ASCII classes spelled out: Python's \d and \w match non-ASCII digits and letters.
_DNS_LABEL_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NETWORK_NAME_RE = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*")
_VOLUME_NAME_RE = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+")
_PORT_RE = re.compile(r"[0-9]{1,5}")
_NUM = r"(?:0|[1-9][0-9]*)"
_PRE = r"(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)"
# https://semver.org/#is-there-a-suggested-regular-expression-regex-to-check-a-semver-string
_SEMVER_RE = re.compile(
    rf"{_NUM}\.{_NUM}\.{_NUM}(?:-{_PRE}(?:\.{_PRE})*)?(?:\+[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*)?"
)

ENV_NAME_MAX = 255
NETWORK_NAME_MAX = 100
VERSION_MAX = 100
BUILTIN_NETWORK_MODES = ("bridge", "host", "none")
PROTOCOLS = ("tcp", "udp", "sctp")
Protocol = Literal["tcp", "udp", "sctp"]


def check_dns_label(value: str) -> str:
    if not _DNS_LABEL_RE.fullmatch(value):
        raise ValueError(
            "must be a DNS label: 1 to 63 lower-case letters, digits or '-', "
            "starting and ending with a letter or digit"
        )
    return value


def check_version(value: str) -> str:
    if value[:1] in ("v", "V") and _SEMVER_RE.fullmatch(value[1:]):
        raise ValueError("must be a semantic version without a leading 'v', like 1.2.3")
    if len(value) > VERSION_MAX or not _SEMVER_RE.fullmatch(value):
        raise ValueError("must be a semantic version like 1.2.3 or 2.0.0-rc.1")
    return value


def check_env_name(name: str) -> str:
    if len(name) > ENV_NAME_MAX or not _ENV_NAME_RE.fullmatch(name):
        raise ValueError(
            "is not a valid environment variable name: letters, digits and '_', "
            f"not starting with a digit, at most {ENV_NAME_MAX} characters"
        )
    return name


def check_no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def check_network_mode(value: str) -> str:
    if value in BUILTIN_NETWORK_MODES:
        return value
    if len(value) > NETWORK_NAME_MAX or not _NETWORK_NAME_RE.fullmatch(value):
        raise ValueError(
            "must be bridge, host, none or a network name (letters, digits, '_', '.', '-')"
        )
    return value


@dataclass(frozen=True, slots=True)
class PortBinding:
    """`host_port` None means the engine picks a free host port; `host_ip` None means all."""

    container_port: int
    host_port: int | None = None
    host_ip: str | None = None
    protocol: Protocol = "tcp"


def parse_port_binding(text: str) -> PortBinding:
    """`[[host_ip:]host_port:]container_port[/protocol]`; IPv6 host addresses in brackets."""
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
    return PortBinding(container_port, host_port, host_ip, _protocol(protocol))


_PORT_FORMAT = (
    "must look like 8080:80, 127.0.0.1:8080:80 or 80, optionally followed by /tcp or /udp "
    "(IPv6 host addresses go in brackets: [::1]:8080:80)"
)


def _protocol(text: str) -> Protocol:
    if text == "udp":
        return "udp"
    if text == "sctp":
        return "sctp"
    return "tcp"


def _port(text: str, *, what: str) -> int:
    if "-" in text and all(_PORT_RE.fullmatch(p) for p in text.split("-", 1)):
        raise ValueError(f"{what}: port ranges are not supported; list each port")
    if not _PORT_RE.fullmatch(text) or not 1 <= int(text) <= 65535:
        raise ValueError(f"{what} must be a number from 1 to 65535")
    return int(text)


def _ip(text: str, *, version: int) -> str:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        address = None
    if address is None or address.version != version:
        kind = "an IPv4 address" if version == 4 else "an IPv6 address in brackets"
        raise ValueError(f"host address must be {kind}")
    return str(address)


@dataclass(frozen=True, slots=True)
class Bind:
    source: str  # an absolute host path, or a named volume
    target: str
    read_only: bool = False

    @property
    def is_volume(self) -> bool:
        return not self.source.startswith("/")


def parse_bind(text: str) -> Bind:
    """`/host/path:/container/path[:ro|rw]` or `volume-name:/container/path[:ro|rw]`."""
    parts = text.split(":")
    if len(parts) not in (2, 3):
        raise ValueError(
            "must look like /host/path:/container/path or volume:/path, then :ro or :rw"
        )
    source, target = parts[0], parts[1]
    mode = parts[2] if len(parts) == 3 else "rw"
    if mode not in ("ro", "rw"):
        raise ValueError("mode must be ro or rw")
    if not source.startswith("/") and not _VOLUME_NAME_RE.fullmatch(source):
        raise ValueError(
            "source must be an absolute host path or a volume name "
            "(at least 2 of letters, digits, '_', '.', '-')"
        )
    if not target.startswith("/"):
        raise ValueError("container path must be absolute")
    if target.rstrip("/") == "":
        raise ValueError("container path must not be /")
    if "\x00" in text:
        raise ValueError("must not contain NUL characters")
    return Bind(source, target, read_only=mode == "ro")

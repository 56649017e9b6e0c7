"""Which registries the server may speak plain HTTP to: EDGEDOCK_INSECURE_REGISTRIES.

The same shape as the engines' `insecure-registries`: comma-separated `host`, `host:port` or
CIDR entries. A `host:port` entry matches that port only, a bare `host` any port of it, and a
CIDR every registry whose address is in it (a name is resolved, and every address it resolves
to must be in the network, so a name cannot smuggle one public address in beside a listed one).
Everything not listed is spoken to over HTTPS only.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
RESOLVE_TIMEOUT = 3.0


def split_host_port(domain: str) -> tuple[str, int | None]:
    """`host[:port]` with IPv6 in brackets (`[::1]:5000`); the host comes back lower-cased."""
    domain = domain.strip().lower()
    if domain.startswith("["):
        host, _, rest = domain[1:].partition("]")
        if rest and not rest.startswith(":"):
            raise ValueError(f"invalid registry address {domain!r}")
        port_text = rest[1:] if rest else ""
    elif domain.count(":") == 1:
        host, _, port_text = domain.partition(":")
    elif ":" in domain:  # a bare IPv6 address
        host, port_text = domain, ""
    else:
        host, port_text = domain, ""
    if not host:
        raise ValueError(f"invalid registry address {domain!r}")
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError(f"invalid port in registry address {domain!r}")
        return host, int(port_text)
    return host, None


@dataclass(frozen=True, slots=True)
class InsecureRegistries:
    hosts: frozenset[tuple[str, int | None]] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, text: str | None) -> InsecureRegistries:
        """Raises ValueError naming the entry that is neither `host[:port]` nor a CIDR."""
        hosts: set[tuple[str, int | None]] = set()
        networks: list[IPNetwork] = []
        for raw in (text or "").split(","):
            entry = raw.strip()
            if not entry:
                continue
            if "/" in entry:
                try:
                    networks.append(ipaddress.ip_network(entry, strict=False))
                except ValueError:
                    raise ValueError(f"insecure registry {entry!r} is not a valid CIDR") from None
                continue
            if any(c in entry for c in "@?#\\ ") or "://" in entry:
                raise ValueError(f"insecure registry {entry!r} must be host[:port] or a CIDR")
            hosts.add(split_host_port(entry))
        return cls(frozenset(hosts), tuple(networks))

    async def allows_http(self, domain: str) -> bool:
        """True when `domain` (`host[:port]`, as in an image name) may be spoken to over HTTP."""
        try:
            host, port = split_host_port(domain)
        except ValueError:
            return False
        if (host, port) in self.hosts or (host, None) in self.hosts:
            return True
        if not self.networks:
            return False
        addresses = await _addresses(host)
        return bool(addresses) and all(
            any(address in network for network in self.networks) for address in addresses
        )


async def _addresses(host: str) -> set[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return {ipaddress.ip_address(host)}
    except ValueError:
        pass
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT):
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, None, type=socket.SOCK_STREAM
            )
    except (OSError, TimeoutError):
        return set()
    found: set[ipaddress.IPv4Address | ipaddress.IPv6Address] = set()
    for info in infos:
        try:
            found.add(ipaddress.ip_address(str(info[4][0]).partition("%")[0]))
        except ValueError:
            continue
    return found

"""The runtime-settings grammar parses into the parts an engine needs (pure, no database)."""

from __future__ import annotations

import pytest
from edgedock.container_settings import Bind, PortBinding, parse_bind, parse_port_binding


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("80", PortBinding(80)),
        ("8080:80", PortBinding(80, 8080)),
        ("8080:80/tcp", PortBinding(80, 8080)),
        ("53:53/udp", PortBinding(53, 53, protocol="udp")),
        ("9000/sctp", PortBinding(9000, protocol="sctp")),
        ("127.0.0.1:8080:80", PortBinding(80, 8080, "127.0.0.1")),
        ("127.0.0.1::80", PortBinding(80, None, "127.0.0.1")),
        ("[::1]:8080:80/udp", PortBinding(80, 8080, "::1", "udp")),
        ("[::]::80", PortBinding(80, None, "::")),
        ("1:65535", PortBinding(65535, 1)),
    ],
)
def test_parse_port_binding_gives_parts_when_valid(text, expected):
    assert parse_port_binding(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("0", "container port must be a number from 1 to 65535"),
        ("8080:65536", "container port must be a number from 1 to 65535"),
        (":80", "host port must be a number"),
        ("8000-8010:80", "port ranges are not supported"),
        ("80/http", "protocol must be tcp, udp or sctp"),
        ("::1:80:80", "IPv6 host addresses go in brackets"),
        ("[::1]:80", "must look like"),
        ("example.com:80:80", "host address must be an IPv4 address"),
        ("[127.0.0.1]:80:80", "host address must be an IPv6 address"),
        ("٨٠", "container port must be a number"),
    ],
)
def test_parse_port_binding_names_problem_when_invalid(text, reason):
    with pytest.raises(ValueError, match=reason.replace("[", r"\[").replace("(", r"\(")):
        parse_port_binding(text)


@pytest.mark.parametrize(
    ("text", "expected", "is_volume"),
    [
        ("/srv/data:/data", Bind("/srv/data", "/data"), False),
        ("/etc/app:/etc/app:ro", Bind("/etc/app", "/etc/app", read_only=True), False),
        ("app-data:/var/lib/app:rw", Bind("app-data", "/var/lib/app"), True),
    ],
)
def test_parse_bind_gives_parts_when_valid(text, expected, is_volume):
    bind = parse_bind(text)
    assert bind == expected
    assert bind.is_volume is is_volume

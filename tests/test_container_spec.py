"""The one container spec: its grammar, its bounds and its normal form (pure, no database)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from edgedock import wire
from edgedock.agent.engine import spec_hash
from edgedock.container_spec import (
    Bind,
    ContainerSettings,
    ContainerSettingsInput,
    PortBinding,
    parse_bind,
    parse_port_binding,
)


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
        ("[fe80::1%eth0]:80:80", "without a %zone"),
        ("٨٠", "container port must be a number"),
        ("80\n", "container port must be a number"),
        ("1" * 65, "at most 64 characters"),
    ],
)
def test_parse_port_binding_names_problem_when_invalid(text, reason):
    with pytest.raises(ValueError, match=reason.replace("[", r"\[").replace("(", r"\(")):
        parse_port_binding(text)


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("8080:80/tcp", "8080:80"),
        ("080", "80"),
        ("53:53/udp", "53:53/udp"),
        ("127.0.0.1::80", "127.0.0.1::80"),
        ("[0::1]:8080:80/sctp", "[::1]:8080:80/sctp"),
    ],
)
def test_port_binding_text_is_normal_form_and_parses_back(text, normal):
    binding = parse_port_binding(text)
    assert str(binding) == normal
    assert parse_port_binding(normal) == binding


def test_port_binding_gives_engine_create_fields():
    binding = parse_port_binding("[::1]:8443:443")
    assert binding.engine_port == "443/tcp"
    assert binding.engine_binding == {"HostIp": "::1", "HostPort": "8443"}
    assert parse_port_binding("53/udp").engine_binding == {"HostIp": "", "HostPort": ""}


@pytest.mark.parametrize(
    ("text", "expected", "normal"),
    [
        ("/srv/data:/data", Bind("/srv/data", "/data"), "/srv/data:/data"),
        ("/etc/app:/etc/app:ro", Bind("/etc/app", "/etc/app", ("ro",)), "/etc/app:/etc/app:ro"),
        ("app-data:/var/lib/app:rw", Bind("app-data", "/var/lib/app"), "app-data:/var/lib/app"),
        ("/a/./b/../c/:/d//e/", Bind("/a/c", "/d/e"), "/a/c:/d/e"),
        ("//a:/b", Bind("/a", "/b"), "/a:/b"),
        ("/a:/b:Z,rslave,ro", Bind("/a", "/b", ("ro", "Z", "rslave")), "/a:/b:ro,Z,rslave"),
        ("cache:/c:nocopy,z", Bind("cache", "/c", ("z", "nocopy")), "cache:/c:z,nocopy"),
        ("/:/host", Bind("/", "/host"), "/:/host"),
    ],
)
def test_parse_bind_normalises_as_the_engine_cleans(text, expected, normal):
    bind = parse_bind(text)
    assert bind == expected
    assert str(bind) == normal
    assert parse_bind(normal) == bind


def test_bind_knows_volume_and_read_only():
    assert parse_bind("app-data:/data:ro").is_volume
    assert parse_bind("app-data:/data:ro").read_only
    assert not parse_bind("/srv:/data").is_volume
    assert not parse_bind("/srv:/data:Z").read_only


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("/a:/b/../../", "must not be / (it resolves to the root)"),
        ("/a:/..", "must not be /"),
        ("/a:/", "must not be /"),
        ("/a:b", "container path must be absolute"),
        ("/a:./b", "container path must be absolute"),
        ("/a:/b\n", "control characters"),
        ("/a\r:/b", "control characters"),
        ("/a:/b\x00", "control characters"),
        ("/a:/b\x1b[2J", "control characters"),
        ("/a:/b\x9b", "control characters"),
        ("/a\ud800:/b", "lone surrogates"),
        ("/a", "must look like"),
        ("/a:/b:ro:z", "must look like"),
        ("/a::ro", "must look like"),
        ("/a:/b:", "must look like"),
        ("./a:/b", "source must be an absolute host path or a volume name"),
        ("v:/b", "source must be an absolute host path or a volume name"),
        ("/a:/b:rx", "options must be ro or rw"),
        ("/a:/b:ro,,z", "options must be ro or rw"),
        ("/a:/b:ro,rw", "two mode options (ro, rw)"),
        ("/a:/b:z,Z", "two label options"),
        ("/a:/b:shared,private", "two propagation options"),
        ("vol:/b:shared", "propagation mode applies to host paths"),
        ("/a:/b:nocopy", "nocopy applies to named volumes"),
        ("/a:/" + "b" * 4096, "at most 4096 characters"),
    ],
)
def test_parse_bind_names_problem_when_invalid(text, reason):
    with pytest.raises(ValueError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        parse_bind(text)


def _locations(exc: pytest.ExceptionInfo[ValidationError]) -> list[tuple[str | int, ...]]:
    return [tuple(error["loc"]) for error in exc.value.errors()]


@pytest.mark.parametrize(
    ("settings", "loc"),
    [
        ({"binds": ["/a:/b", "/c:/b/x/.."]}, ("binds", 1)),
        ({"binds": ["/a:/b", "/a:/b/../../"]}, ("binds", 1)),
        ({"port_bindings": ["80", "8080:80", "8080:81/tcp"]}, ("port_bindings", 2)),
        ({"env": {"OK": "1", "BAD": "\x00"}}, ("env", "BAD")),
        ({"command": ["a", "b\udc00"]}, ("command", 1)),
        ({"command": []}, ("command",)),
        ({"network_mode": "container:db"}, ("network_mode",)),
        ({"privileged": "yes"}, ("privileged",)),
        ({"ports": ["80"]}, ("ports",)),
    ],
)
def test_settings_input_locates_error_at_offending_item(settings, loc):
    with pytest.raises(ValidationError) as exc:
        ContainerSettingsInput.model_validate(settings)
    assert _locations(exc) == [loc]


def test_settings_input_hides_refused_values_in_errors():
    with pytest.raises(ValidationError) as exc:
        ContainerSettingsInput.model_validate({"env": {"TOKEN": "s3cr3t-value\x00"}})
    assert "s3cr3t-value" not in str(exc.value)


def test_settings_input_stores_normal_forms():
    data = ContainerSettingsInput.model_validate(
        {"port_bindings": ["8080:80/tcp"], "binds": ["/srv/:/data/:rw"]}
    )
    assert data.stored() == {
        "env": {},
        "command": None,
        "port_bindings": ["8080:80"],
        "restart_policy": "no",
        "binds": ["/srv:/data"],
        "network_mode": None,
        "privileged": False,
    }


def test_stored_settings_read_back_without_rules_of_today():
    """A release stored under an older grammar stays readable, by the server and by devices."""
    old = {"binds": ["/a:/b/../../"], "port_bindings": ["[fe80::1%eth0]:80:80"], "later": 1}
    assert ContainerSettings.model_validate(old).binds == ["/a:/b/../../"]
    spec = wire.ContainerSpec(id="c", name="web", image="nginx:1", **old)
    assert spec.port_bindings == ["[fe80::1%eth0]:80:80"]


def test_wire_spec_hash_unchanged_by_one_definition():
    """The hashes the agent computed before the spec had one definition: nothing is recreated.

    Computed with the release before container_spec existed, for the same two specs.
    """
    full = wire.ContainerSpec(
        id="c1",
        name="web",
        image="docker.io/library/nginx:1.27",
        needs_credentials=True,
        env={"A": "1", "B": "x y"},
        command=["sh", "-c", "true"],
        port_bindings=["8080:80", "53:53/udp"],
        restart_policy="always",
        binds=["/srv:/data:ro"],
        network_mode="host",
        privileged=True,
    )
    bare = wire.ContainerSpec(id="c2", name="db", image="docker.io/library/redis:7")
    assert (spec_hash(full), spec_hash(bare)) == ("71ad8c56449591bd", "29edea70f9d56d82")

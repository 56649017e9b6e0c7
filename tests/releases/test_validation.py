"""Every rule of a release and its containers: a bad value is a 422 that names it exactly."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests import factories

OK = factories.container("ok", "nginx:1.27")


def _release(*containers: dict[str, Any], version: str = "1.0.0") -> dict[str, Any]:
    return {"version": version, "containers": list(containers) or [OK]}


def _second(**settings: Any) -> dict[str, Any]:
    """A release whose second container carries `settings`: the field must say [1]."""
    return _release(OK, {"name": "app", "image": "nginx", **settings})


INVALID: list[tuple[str, dict[str, Any], str]] = [
    # version
    ("version missing", {"containers": [OK]}, "version"),
    ("version empty", _release(version=""), "version"),
    ("version two parts", _release(version="1.2"), "version"),
    ("version leading v", _release(version="v1.2.3"), "version"),
    ("version leading zero", _release(version="01.2.3"), "version"),
    ("version prerelease leading zero", _release(version="1.2.3-01"), "version"),
    ("version not a string", {"version": 1, "containers": [OK]}, "version"),
    ("version too long", _release(version="1.0.0-" + "a" * 100), "version"),
    ("version lone surrogate", _release(version="1.0.0-\ud800"), "version"),
    # containers
    ("containers missing", {"version": "1.0.0"}, "containers"),
    ("containers empty", {"version": "1.0.0", "containers": []}, "containers"),
    (
        "containers too many",
        {"version": "1.0.0", "containers": [factories.container(f"c{i}") for i in range(51)]},
        "containers",
    ),
    ("unknown release field", {**_release(), "labels": {}}, "labels"),
    ("unknown container field", _second(ports=["80"]), "containers[1].ports"),
    # name
    ("name missing", _release(OK, {"image": "nginx"}), "containers[1].name"),
    ("name empty", _second(name=""), "containers[1].name"),
    ("name upper case", _second(name="Web"), "containers[1].name"),
    ("name underscore", _second(name="my_app"), "containers[1].name"),
    ("name leading dash", _second(name="-app"), "containers[1].name"),
    ("name trailing dash", _second(name="app-"), "containers[1].name"),
    ("name 64 characters", _second(name="a" * 64), "containers[1].name"),
    ("name dot", _second(name="a.b"), "containers[1].name"),
    ("name twice", _release(OK, factories.container("ok", "redis")), "containers[1].name"),
    # image
    ("image missing", _release(OK, {"name": "app"}), "containers[1].image"),
    ("image empty", _second(image=""), "containers[1].image"),
    ("image upper case repository", _second(image="Nginx"), "containers[1].image"),
    ("image bad tag", _second(image="nginx:-1"), "containers[1].image"),
    ("image bad digest", _second(image="nginx@sha256:abc"), "containers[1].image"),
    ("image space", _second(image="nginx latest"), "containers[1].image"),
    ("image id", _second(image="f" * 64), "containers[1].image"),
    ("image too long", _second(image="a" * 501), "containers[1].image"),
    ("image domain too long", _second(image="a" * 300 + ".com/x"), "containers[1].image"),
    ("image lone surrogate", _second(image="nginx\ud800"), "containers[1].image"),
    ("image not a string", _second(image=["nginx"]), "containers[1].image"),
    # image_credentials_id
    (
        "credentials id malformed",
        _second(image_credentials_id="x"),
        "containers[1].image_credentials_id",
    ),
    (
        "credentials id number",
        _second(image_credentials_id=5),
        "containers[1].image_credentials_id",
    ),
    # env
    ("env not a map", _second(env=["A=1"]), "containers[1].env"),
    ("env name digit first", _second(env={"1A": "x"}), "containers[1].env.1A"),
    ("env name dash", _second(env={"OK": "1", "MY-VAR": "x"}), "containers[1].env.MY-VAR"),
    ("env name empty", _second(env={"": "x"}), "containers[1].env."),
    ("env name equals", _second(env={"A=B": "x"}), "containers[1].env.A=B"),
    ("env value number", _second(env={"PORT": 8080}), "containers[1].env.PORT"),
    ("env value null", _second(env={"PORT": None}), "containers[1].env.PORT"),
    ("env value NUL", _second(env={"A": "x\x00y"}), "containers[1].env.A"),
    ("env value lone surrogate", _second(env={"A": "x\udfffy"}), "containers[1].env.A"),
    ("env value too long", _second(env={"A": "x" * 32_769}), "containers[1].env.A"),
    ("env name too long", _second(env={"A" * 256: "x"}), "containers[1].env." + "A" * 256),
    ("env name surrogate", _second(env={"A\ud800": "x"}), "containers[1].env.A\\ud800"),
    ("env too many", _second(env={f"V{i}": "" for i in range(201)}), "containers[1].env"),
    (
        "env and command too large together",
        _second(env={f"V{i}": "x" * 30_000 for i in range(9)}),
        "containers[1].env",
    ),
    # command
    ("command string", _second(command="nginx -g"), "containers[1].command"),
    ("command empty list", _second(command=[]), "containers[1].command"),
    ("command item number", _second(command=["sleep", 5]), "containers[1].command[1]"),
    ("command item NUL", _second(command=["a\x00"]), "containers[1].command[0]"),
    ("command item surrogate", _second(command=["a", "\ud800"]), "containers[1].command[1]"),
    ("command item too long", _second(command=["a" * 32_769]), "containers[1].command[0]"),
    ("command too many", _second(command=["a"] * 101), "containers[1].command"),
    # port_bindings
    ("port not a list", _second(port_bindings="80"), "containers[1].port_bindings"),
    ("port zero", _second(port_bindings=["0"]), "containers[1].port_bindings[0]"),
    ("port too big", _second(port_bindings=["65536"]), "containers[1].port_bindings[0]"),
    (
        "host port too big",
        _second(port_bindings=["80", "70000:80"]),
        "containers[1].port_bindings[1]",
    ),
    ("host port empty", _second(port_bindings=[":80"]), "containers[1].port_bindings[0]"),
    ("port letters", _second(port_bindings=["http"]), "containers[1].port_bindings[0]"),
    ("port range", _second(port_bindings=["8000-8001:80"]), "containers[1].port_bindings[0]"),
    ("port bad protocol", _second(port_bindings=["80/http"]), "containers[1].port_bindings[0]"),
    ("port empty protocol", _second(port_bindings=["80/"]), "containers[1].port_bindings[0]"),
    ("port bad address", _second(port_bindings=["1.2.3:80:80"]), "containers[1].port_bindings[0]"),
    ("port bare ipv6", _second(port_bindings=["::1:80:80"]), "containers[1].port_bindings[0]"),
    (
        "port ipv4 in brackets",
        _second(port_bindings=["[1.2.3.4]:80:80"]),
        "containers[1].port_bindings[0]",
    ),
    ("port number", _second(port_bindings=[80]), "containers[1].port_bindings[0]"),
    (
        "port ipv6 zone",
        _second(port_bindings=["[fe80::1%eth0]:80:80"]),
        "containers[1].port_bindings[0]",
    ),
    (
        "port ipv6 zone newline",
        _second(port_bindings=["[fe80::1%\n]:80:80"]),
        "containers[1].port_bindings[0]",
    ),
    ("port newline", _second(port_bindings=["80\n"]), "containers[1].port_bindings[0]"),
    ("port too long", _second(port_bindings=["0" * 60 + "80"]), "containers[1].port_bindings[0]"),
    (
        "ports too many",
        _second(port_bindings=[str(p) for p in range(1, 102)]),
        "containers[1].port_bindings",
    ),
    (
        "port host on all addresses and one",
        _second(port_bindings=["8080:80", "127.0.0.1:8080:81"]),
        "containers[1].port_bindings[1]",
    ),
    (
        "port host on any IPv4 address and one",
        _second(port_bindings=["127.0.0.1:8080:81", "0.0.0.0:8080:80"]),
        "containers[1].port_bindings[1]",
    ),
    (
        "port host twice once normalised",
        _second(port_bindings=["8080:80", "08080:81/tcp"]),
        "containers[1].port_bindings[1]",
    ),
    (
        "port host twice",
        _second(port_bindings=["80:80", "80:81"]),
        "containers[1].port_bindings[1]",
    ),
    # restart_policy
    ("restart unknown", _second(restart_policy="sometimes"), "containers[1].restart_policy"),
    ("restart upper case", _second(restart_policy="Always"), "containers[1].restart_policy"),
    ("restart boolean", _second(restart_policy=False), "containers[1].restart_policy"),
    ("restart with count", _second(restart_policy="on-failure:3"), "containers[1].restart_policy"),
    # binds
    ("bind not a list", _second(binds="/a:/b"), "containers[1].binds"),
    ("bind no target", _second(binds=["/data"]), "containers[1].binds[0]"),
    ("bind relative source", _second(binds=["/a:/b", "./data:/data"]), "containers[1].binds[1]"),
    ("bind relative target", _second(binds=["/data:data"]), "containers[1].binds[0]"),
    ("bind target root", _second(binds=["/data:/"]), "containers[1].binds[0]"),
    ("bind bad mode", _second(binds=["/data:/data:rx"]), "containers[1].binds[0]"),
    ("bind too many parts", _second(binds=["/a:/b:ro:z"]), "containers[1].binds[0]"),
    ("bind short volume name", _second(binds=["v:/data"]), "containers[1].binds[0]"),
    ("bind target resolves to root", _second(binds=["/a:/b/../../"]), "containers[1].binds[0]"),
    ("bind target dot dot", _second(binds=["/a:/.."]), "containers[1].binds[0]"),
    ("bind newline", _second(binds=["/a:/b", "/a:/c\n"]), "containers[1].binds[1]"),
    ("bind newline in source", _second(binds=["/a\n/b:/c"]), "containers[1].binds[0]"),
    ("bind NUL", _second(binds=["/a:/b\x00"]), "containers[1].binds[0]"),
    ("bind tab", _second(binds=["/a\t:/b"]), "containers[1].binds[0]"),
    ("bind DEL", _second(binds=["/a:/b\x7f"]), "containers[1].binds[0]"),
    ("bind C1 control", _second(binds=["/a:/b\x85"]), "containers[1].binds[0]"),
    ("bind lone surrogate", _second(binds=["/a\ud800:/b"]), "containers[1].binds[0]"),
    ("bind empty source", _second(binds=[":/b"]), "containers[1].binds[0]"),
    ("bind empty options", _second(binds=["/a:/b:"]), "containers[1].binds[0]"),
    ("bind ro and rw", _second(binds=["/a:/b:ro,rw"]), "containers[1].binds[0]"),
    ("bind z and Z", _second(binds=["/a:/b:z,Z"]), "containers[1].binds[0]"),
    ("bind two propagations", _second(binds=["/a:/b:shared,slave"]), "containers[1].binds[0]"),
    ("bind unknown option", _second(binds=["/a:/b:exec"]), "containers[1].binds[0]"),
    ("bind nocopy on host path", _second(binds=["/a:/b:nocopy"]), "containers[1].binds[0]"),
    ("bind propagation on volume", _second(binds=["vol:/b:rshared"]), "containers[1].binds[0]"),
    ("bind same target twice", _second(binds=["/a:/b", "/c:/b/"]), "containers[1].binds[1]"),
    ("bind too long", _second(binds=["/a:/" + "b" * 4096]), "containers[1].binds[0]"),
    ("bind number", _second(binds=[5]), "containers[1].binds[0]"),
    ("binds too many", _second(binds=[f"/a:/b{i}" for i in range(101)]), "containers[1].binds"),
    # network_mode
    ("network container mode", _second(network_mode="container:db"), "containers[1].network_mode"),
    ("network space", _second(network_mode="my net"), "containers[1].network_mode"),
    ("network empty", _second(network_mode=""), "containers[1].network_mode"),
    ("network too long", _second(network_mode="n" * 101), "containers[1].network_mode"),
    ("network number", _second(network_mode=1), "containers[1].network_mode"),
    ("network newline", _second(network_mode="net\n"), "containers[1].network_mode"),
    # privileged
    ("privileged string", _second(privileged="true"), "containers[1].privileged"),
    ("privileged number", _second(privileged=1), "containers[1].privileged"),
]


@pytest.mark.parametrize(
    ("payload", "field"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID]
)
async def test_create_release_refuses_invalid_value_with_field(api, payload, field):
    app = await factories.application(api)
    # Serialised here, ASCII-escaped, so that a lone surrogate travels as JSON's "\ud800".
    response = await api.post(
        f"/api/v1/applications/{app['id']}/releases",
        content=json.dumps(payload),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid"
    # Error answers bound what they echo: a field named by a 256-character env key is cut.
    shown = error["field"].removesuffix("…")
    assert shown == field or (error["field"].endswith("…") and field.startswith(shown))
    assert error["message"].startswith(f"{shown}")
    assert len(error["message"]) > len(f"{shown}: ")
    listed = await api.get(f"/api/v1/applications/{app['id']}/releases")
    assert listed.json()["items"] == []


# Each valid value, and what is stored when the normalised form differs from the input.
VALID: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = [
    ("name one character", {"name": "a"}, None),
    ("name 63 characters", {"name": "a" * 63}, None),
    ("name digits and dashes", {"name": "0-web-1"}, None),
    ("env names", {"env": {"_A": "", "PATH": "/bin", "lower_1": "x=y"}}, None),
    ("env value with newline", {"env": {"CERT": "line1\nline2"}}, None),
    ("env value 32768 characters", {"env": {"BIG": "x" * 32_768}}, None),
    ("env value non-ASCII", {"env": {"GREETING": "grüß dich 🙂"}}, None),
    ("command", {"command": ["sh", "-c", "echo 'hi' && sleep 1"]}, None),
    ("command null", {"command": None}, None),
    ("port container only", {"port_bindings": ["80"]}, None),
    ("port host and container", {"port_bindings": ["8080:80/tcp"]}, {"port_bindings": ["8080:80"]}),
    (
        "port udp",
        {"port_bindings": ["53:53/udp", "53:53/tcp"]},
        {"port_bindings": ["53:53/udp", "53:53"]},
    ),
    ("port sctp", {"port_bindings": ["9000/sctp"]}, None),
    ("port address", {"port_bindings": ["127.0.0.1:8080:80"]}, None),
    ("port address engine picks host port", {"port_bindings": ["127.0.0.1::80"]}, None),
    ("port ipv6 address", {"port_bindings": ["[::1]:8080:80"]}, None),
    (
        "port ipv6 address spelled long",
        {"port_bindings": ["[0:0:0:0:0:0:0:1]:8080:80/udp"]},
        {"port_bindings": ["[::1]:8080:80/udp"]},
    ),
    ("port leading zeros", {"port_bindings": ["08080:080"]}, {"port_bindings": ["8080:80"]}),
    ("port limits", {"port_bindings": ["1:65535"]}, None),
    (
        "port same host port on two addresses",
        {"port_bindings": ["127.0.0.1:80:80", "10.0.0.1:80:80"]},
        None,
    ),
    (
        "port same host port on any IPv4 and one IPv6 address",
        {"port_bindings": ["0.0.0.0:80:80", "[::1]:80:80", "80:80/udp"]},
        None,
    ),
    ("restart no", {"restart_policy": "no"}, None),
    ("restart always", {"restart_policy": "always"}, None),
    ("restart unless-stopped", {"restart_policy": "unless-stopped"}, None),
    ("restart on-failure", {"restart_policy": "on-failure"}, None),
    ("bind host path", {"binds": ["/srv/data:/var/lib/app"]}, None),
    ("bind read only", {"binds": ["/etc/app:/etc/app:ro"]}, None),
    ("bind read write", {"binds": ["/srv:/srv:rw"]}, {"binds": ["/srv:/srv"]}),
    ("bind named volume", {"binds": ["app-data_1.0:/data"]}, None),
    (
        "bind volume nocopy",
        {"binds": ["cache:/cache:nocopy,ro"]},
        {"binds": ["cache:/cache:ro,nocopy"]},
    ),
    (
        "bind options in any order",
        {"binds": ["/srv:/srv:rshared,Z,ro"]},
        {"binds": ["/srv:/srv:ro,Z,rshared"]},
    ),
    (
        "bind paths cleaned",
        {"binds": ["//srv/./a/../data/:/var//lib/app/"]},
        {"binds": ["/srv/data:/var/lib/app"]},
    ),
    ("bind host root", {"binds": ["/:/host:ro"]}, None),
    ("bind non-ASCII path", {"binds": ["/srv/données:/data"]}, None),
    ("network bridge", {"network_mode": "bridge"}, None),
    ("network host", {"network_mode": "host"}, None),
    ("network none", {"network_mode": "none"}, None),
    ("network name", {"network_mode": "backend_net.1"}, None),
    ("privileged", {"privileged": True}, None),
]


@pytest.mark.parametrize(("settings", "stored"), [c[1:] for c in VALID], ids=[c[0] for c in VALID])
async def test_create_release_stores_valid_value_normalised(api, settings, stored):
    app = await factories.application(api)
    spec = {"name": "web", "image": "nginx", **settings}
    body = await factories.release(api, app["id"], containers=[spec])
    fetched = (await api.get(f"/api/v1/releases/{body['id']}")).json()
    for answer in (body, fetched):
        (container,) = answer["containers"]
        assert {key: container[key] for key in settings} == (stored or settings)


async def test_create_release_trims_version(api):
    app = await factories.application(api)
    body = await factories.release(api, app["id"], version=" 2.0.0-rc.1+build.5 ")
    assert body["version"] == "2.0.0-rc.1+build.5"


async def test_create_release_defaults_runtime_settings_when_omitted(api):
    app = await factories.application(api)
    body = await factories.release(api, app["id"], containers=[{"name": "w", "image": "nginx"}])
    (container,) = body["containers"]
    assert {k: container[k] for k in ("env", "command", "port_bindings", "restart_policy")} == {
        "env": {},
        "command": None,
        "port_bindings": [],
        "restart_policy": "no",
    }
    assert (container["binds"], container["network_mode"], container["privileged"]) == (
        [],
        None,
        False,
    )
    assert container["image_credentials_id"] is None and container["image_credentials"] is None


async def test_create_release_accepts_50_containers(api):
    app = await factories.application(api)
    containers = [factories.container(f"c{i}", "busybox") for i in range(50)]
    body = await factories.release(api, app["id"], containers=containers)
    assert [c["name"] for c in body["containers"]] == [f"c{i}" for i in range(50)]


async def test_invalid_env_value_is_not_echoed_when_refused(api):
    app = await factories.application(api)
    secret = factories.unique_password()
    payload = _second(env={"TOKEN": secret + "\x00"})
    response = await api.post(f"/api/v1/applications/{app['id']}/releases", json=payload)
    assert response.status_code == 422
    assert secret not in response.text

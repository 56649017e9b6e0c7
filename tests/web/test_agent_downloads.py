"""`/agent/`: the server serves its own agent as a wheel, without sign-in, and says how to install it."""

from __future__ import annotations

import hashlib
import html
import importlib.metadata
import io
import re
import zipfile
from pathlib import Path

from edgedock.server import agent_wheel
from tests.deployments import fleet
from tests.web.conftest import HTML

WHEEL = agent_wheel.wheel_filename()


def test_wheel_is_named_and_versioned_as_the_installed_server() -> None:
    version = importlib.metadata.version("edgedock")
    assert agent_wheel.wheel_filename(version) == WHEEL == f"edgedock-{version}-py3-none-any.whl"


def test_wheel_holds_the_running_package_and_its_metadata() -> None:
    wheel = agent_wheel.current_wheel()
    with zipfile.ZipFile(io.BytesIO(wheel.content)) as archive:
        names = set(archive.namelist())
        dist_info = WHEEL.split("-py3")[0] + ".dist-info"
        metadata = archive.read(f"{dist_info}/METADATA").decode()
        entry_points = archive.read(f"{dist_info}/entry_points.txt").decode()
        record = archive.read(f"{dist_info}/RECORD").decode()
        loop = archive.read("edgedock/agent/loop.py")
    package = Path(agent_wheel.edgedock.__file__).parent
    assert loop == (package / "agent" / "loop.py").read_bytes()
    assert "edgedock/server/templates/devices/detail.html" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert 'Requires-Dist: docker>=7.1; extra == "agent"' in metadata
    installed = importlib.metadata.distribution("edgedock")
    assert entry_points == installed.read_text("entry_points.txt")
    assert "edgedock = edgedock.cli.main:" in entry_points
    # Every file but RECORD itself is in RECORD with its hash, as installers check.
    recorded = {line.split(",")[0] for line in record.splitlines()}
    assert recorded == names


def test_wheel_build_is_deterministic(tmp_path: Path) -> None:
    package = tmp_path / "edgedock"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "mod.py").write_text("x = 1\n")
    (package / "sub" / "__pycache__").mkdir()
    (package / "sub" / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"\0")
    (package / ".mod.py.swp").write_bytes(b"\0")

    def build() -> agent_wheel.AgentWheel:
        return agent_wheel.build_wheel(
            package, version="1.2.3", metadata="Name: edgedock\n", entry_points=""
        )

    first, second = build(), build()
    assert first.content == second.content and first.filename == "edgedock-1.2.3-py3-none-any.whl"
    with zipfile.ZipFile(io.BytesIO(first.content)) as archive:
        assert [n for n in archive.namelist() if not n.startswith("edgedock-1.2.3")] == [
            "edgedock/__init__.py",
            "edgedock/sub/mod.py",
        ]


async def test_wheel_downloads_without_sign_in(anonymous) -> None:
    response = await anonymous.get(f"/agent/{WHEEL}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    digest = hashlib.sha256(response.content).hexdigest()
    assert response.headers["etag"] == f'"{digest}"'
    assert response.content == agent_wheel.current_wheel().content
    again = await anonymous.get(f"/agent/{WHEEL}", headers={"If-None-Match": f'"{digest}"'})
    assert again.status_code == 304 and not again.content


async def test_other_file_names_are_not_found(anonymous) -> None:
    response = await anonymous.get("/agent/edgedock-0.0.1-py3-none-any.whl")
    assert response.status_code == 404
    assert WHEEL in response.json()["error"]["message"]
    assert (await anonymous.get("/agent/..%2Fconfig.py")).status_code == 404


async def test_index_links_the_wheel_with_its_hash_for_find_links(anonymous) -> None:
    response = await anonymous.get("/agent/", headers=HTML)
    assert response.status_code == 200
    digest = agent_wheel.current_wheel().sha256
    assert f'href="{WHEEL}#sha256={digest}"' in response.text
    install = html.unescape(
        re.search(r'id="agent-install"><code>(.*?)</code>', response.text, re.S).group(1)
    )
    assert f"pip install 'edgedock[agent] @ http://testserver/agent/{WHEEL}'" in install
    assert "sudo install -m 600 /dev/stdin /etc/edgedock/device-token" in install


async def test_device_page_shows_the_install_with_the_token_pasted_in(web, api) -> None:
    device = await fleet.device(api, "gw-install")
    page = (await web.get(f"/devices/{device['id']}")).text
    install = html.unescape(
        re.search(r'id="agent-install"><code>(.*?)</code>', page, re.S).group(1)
    )
    assert install.splitlines() == [
        "sudo python3 -m venv /opt/edgedock",
        f"sudo /opt/edgedock/bin/pip install 'edgedock[agent] @ http://testserver/agent/{WHEEL}'",
        "sudo /opt/edgedock/bin/edgedock agent install-service --server http://testserver "
        "--token-file /etc/edgedock/device-token --engine unix:///var/run/docker.sock",
        "sudo systemctl daemon-reload",
        "sudo install -d -m 700 /etc/edgedock",
        # Last: a block pasted into a shell is its input, so the paste comes after every line.
        "sudo install -m 600 /dev/stdin /etc/edgedock/device-token && "
        "sudo systemctl enable --now edgedock-agent   # paste the device token, then Ctrl-D",
    ]
    assert device["token"] not in page


async def test_openapi_carries_the_version_of_the_agent_wheel(anonymous) -> None:
    info = (await anonymous.get("/openapi.json")).json()["info"]
    assert agent_wheel.wheel_filename(info["version"]) == WHEEL

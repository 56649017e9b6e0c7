"""The README's first command, `make run`, works in a fresh clone of this repository.

(`make test`, the second, is what CI runs in a fresh clone.) The clone gets its own virtual
environment, so this proves the install step too; pip's download cache keeps it to a minute.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

import httpx

from tests.conftest import ROOT
from tests.support.live_server import free_port


def test_make_run_in_fresh_clone_serves_embedded_default(tmp_path):
    clone = tmp_path / "edgedock"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=120)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EDGEDOCK_", "VIRTUAL_ENV"))}
    env["EDGEDOCK_PORT"] = str(port)
    log = tmp_path / "make-run.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["make", "run"],
            cwd=clone,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 420
        while time.monotonic() < deadline:
            assert process.poll() is None, f"make run exited:\n{log.read_text()}"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            raise AssertionError(f"make run did not serve in time:\n{log.read_text()}")
        output = log.read_text()
        token = output.split("shown only this once:\n", 1)[1].splitlines()[0].strip()
        listed = httpx.get(
            f"http://127.0.0.1:{port}/api/v1/image-credentials",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert listed.status_code == 200 and listed.json()["items"] == []
        assert (clone / "var" / "edgedock.db").exists()
        assert oct((clone / "var" / "secret-keys").stat().st_mode & 0o777) == "0o600"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)

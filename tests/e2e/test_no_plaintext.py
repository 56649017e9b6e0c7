"""Secrets are sacred: a planted password is found nowhere but in the one registry auth.

Everything runs against a real server process logging at DEBUG, through the REST API, the
device API and the CLI; then the database (file or rows), every answer and every log is searched.
"""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from urllib.parse import quote, quote_plus

import httpx

from tests import factories


class Recorder:
    """Keeps every response (body and headers) the tests' HTTP clients receive."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def hook(self, response: httpx.Response) -> None:
        response.read()
        self.texts.append(response.text)
        self.texts.append(json.dumps(dict(response.headers)))


def _clients(live_server, recorder):
    api = live_server.api()
    api.event_hooks["response"] = [recorder.hook]
    return api


def _encodings(secret: str) -> list[str]:
    """The password and base64 fragments of it at each alignment (a leaked auth header)."""
    raw = secret.encode()
    found = [secret, quote(secret, safe=""), quote_plus(secret)]
    for shift in range(3):
        chunk = base64.b64encode(b"\0" * shift + raw).decode()
        found.append(chunk[4 + ((shift * 4) // 3) : -4])
    return [f for f in found if len(f) >= 12]


async def _database_dump(url: str) -> str:
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        parts = [p.read_bytes() for p in path.parent.glob(path.name + "*")]
        return b"".join(parts).decode("latin-1")
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        tables = [
            r["tablename"]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
        rows = []
        for table in tables:
            rows += [r[0] for r in await conn.fetch(f'SELECT t::text FROM "{table}" t')]
        return "\n".join(rows)
    finally:
        await conn.close()


def test_planted_password_is_found_nowhere(live_server):
    password = factories.unique_password("planted")
    recorder = Recorder()
    outputs: list[str] = []

    def cli(*args: str, stdin: str | None = None):
        result = live_server.cli(*args, input=stdin)
        outputs.extend([result.stdout, result.stderr])
        return result

    created = cli(
        "credentials",
        "create",
        "--label",
        "Planted",
        "--username",
        "robot",
        "--password-stdin",
        stdin=password + "\n",
    )
    assert created.returncode == 0, created.stderr
    credential_id = created.stdout.strip()
    with _clients(live_server, recorder) as api:
        url = f"/api/v1/image-credentials/{credential_id}"
        api.get("/api/v1/image-credentials")
        api.get("/api/v1/image-credentials", params={"q": password})
        api.get(url)
        assert (
            api.put(url, json={"label": "x", "username": "u", "password": password}).status_code
            == 405
        )
        assert api.patch(url, json={"password": password}).status_code == 405
        for bad in [
            {"label": "", "username": "u", "password": password},
            {"label": "Planted", "username": "robot", "password": password},
            {"label": "x", "username": "u", "password": password, "extra": password},
            {"label": "x", "username": "u", "password": password + "\x00"},
            {"label": "x", "username": password * 20, "password": "p"},
        ]:
            assert api.post("/api/v1/image-credentials", json=bad).status_code in (409, 422)
        application = api.post("/api/v1/applications", json={"name": "planted-app"}).json()
        release = api.post(
            f"/api/v1/applications/{application['id']}/releases",
            json={
                "version": "1.0.0",
                "containers": [
                    factories.container(
                        "app", "localhost:5055/team/app:1.0", image_credentials_id=credential_id
                    )
                ],
            },
        ).json()
        api.get(f"/api/v1/releases/{release['id']}")
        assert api.delete(url).status_code == 409
        device = api.post("/api/v1/devices", json={"name": "planted-gw"}).json()
        deployment = api.post(
            "/api/v1/deployments", json={"release_id": release["id"], "device_id": device["id"]}
        ).json()
        api.get(f"/api/v1/deployments/{deployment['id']}")
        api.get(f"/api/v1/deployments/{deployment['id']}/events")
        with live_server.api(device["token"]) as agent:
            agent.event_hooks["response"] = [recorder.hook]
            agent.get("/device/v1/desired-state")
            agent.post("/device/v1/status", json={"containers": [], "events": []})
            container_id = release["containers"][0]["id"]
            # The one answer that carries the password, encoded, by design: not recorded.
            agent.event_hooks["response"] = []
            auth = agent.post(
                "/device/v1/registry-auth",
                json={"deployment_id": deployment["id"], "container_id": container_id},
            )
            assert auth.status_code == 200
            issued = auth.json()["x_registry_auth"]
        api.get("/api/v1/audit-events")
        api.get("/api/v1/audit-events", params={"credentials_id": credential_id})
    for args in [
        ("credentials", "list"),
        ("credentials", "list", "-o", "json"),
        ("credentials", "show", credential_id),
        ("credentials", "show", credential_id, "-o", "json"),
        ("credentials", "delete", credential_id),
        ("credentials", "delete", credential_id, "--force"),
    ]:
        cli(*args)
    with live_server.api() as api:
        api.event_hooks["response"] = [recorder.hook]
        assert api.get(f"/api/v1/releases/{release['id']}").status_code == 200
        api.get("/api/v1/audit-events")

    haystacks = {
        "responses": "\n".join(recorder.texts),
        "cli": "\n".join(outputs),
        "server log": live_server.log(),
        "database": asyncio.run(_database_dump(live_server.env["EDGEDOCK_DATABASE_URL"])),
    }
    assert "DEBUG" in haystacks["server log"], "the server must have logged at DEBUG"
    assert "GET /api/v1/image-credentials 200" in haystacks["server log"], "access log missing"
    assert "Planted" in haystacks["database"] or "planted" in haystacks["database"].lower()
    for where, text in haystacks.items():
        for needle in [*_encodings(password), issued]:
            assert needle not in text, f"the planted password leaked into the {where}"

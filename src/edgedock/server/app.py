"""The application factory: everything a server needs comes in through `settings`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from edgedock import notify
from edgedock.applications import api as applications_api
from edgedock.audit import api as audit_api
from edgedock.audit.writer import AuditWriter
from edgedock.config import Settings
from edgedock.credentials import api as credentials_api
from edgedock.credentials import service as credential_service
from edgedock.credentials.expiry import ExpirySweeper
from edgedock.crypto import Keyring, keystore_for
from edgedock.db import Database
from edgedock.deployments import api as deployments_api
from edgedock.device_api import projection
from edgedock.device_api import router as device_api_router
from edgedock.device_api.changes import ChangeFeed
from edgedock.device_api.fast_path import DeviceFastPath
from edgedock.device_api.fleet import Fleet
from edgedock.device_api.pull_cache import PullTargetCache, PullTargetReader
from edgedock.device_api.seen import SeenWriter
from edgedock.devices import api as devices_api
from edgedock.registries import api as registries_api
from edgedock.registries import service as registry_service
from edgedock.registries.issuing import SignerCache
from edgedock.registries.pull_secrets import PullSecretWriter
from edgedock.releases import api as releases_api
from edgedock.rotation import api as rotation_api
from edgedock.server import agent_wheel, docs, handlers, ui
from edgedock.server.access_log import AccessLogMiddleware
from edgedock.server.body_limit import BodyLimitMiddleware
from edgedock.server.state import ServerState

# Short: a probe that waits as long as a request would tells the balancer nothing in time.
READY_TIMEOUT = 2.0


def load_keyring(settings: Settings) -> Keyring:
    secret = settings.secret_keys.get_secret_value() if settings.secret_keys else None
    return Keyring(keystore_for(secret, settings.data_dir))


async def check_startup(database: Database, keyring: Keyring) -> None:
    """Fail before serving when a key needed by stored secrets is missing or wrong."""
    async with database.transaction() as session:
        await credential_service.verify_keys(session, keyring=keyring)
        await registry_service.verify_keys(session, keyring=keyring)
        await projection.rebuild_missing(session)


def create_app(
    settings: Settings,
    *,
    database: Database | None = None,
    keyring: Keyring | None = None,
    notifier: notify.Notifier | None = None,
    registry_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """`registry_transport` replaces the network under credentials checks (tests that must not
    let generated input reach real hosts); None is the real network."""
    keyring = keyring or load_keyring(settings)
    owns_database = database is None
    database = database or Database.connect(
        settings.effective_database_url, timeout=settings.database_timeout
    )
    notifier = notifier or notify.notifier_for(settings.effective_database_url)
    fleet = Fleet()
    state = ServerState(
        settings=settings,
        database=database,
        keyring=keyring,
        notifier=notifier,
        fleet=fleet,
        audit=AuditWriter(database),
        bodies=projection.BodyReader(database),
        pull_targets=PullTargetCache(fleet, PullTargetReader(database)),
        registry_signers=SignerCache(keyring),
        pull_secrets=PullSecretWriter(database),
        registry_transport=registry_transport,
    )
    feed = ChangeFeed(fleet, notifier)
    database.before_commit.append(feed.before_commit)
    database.after_commit.append(feed.after_commit)
    seen_writer = SeenWriter(database, fleet)
    fleet.write_seen_now = seen_writer.write_now
    expiry_sweeper = ExpirySweeper(
        database,
        warning=settings.credentials_expiry_warning,
        interval=settings.credentials_expiry_sweep_interval,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await check_startup(state.database, state.keyring)
        await state.notifier.start(fleet.apply, fleet.forget_all)
        seen_writer.start()
        expiry_sweeper.start()
        try:
            yield
        finally:
            fleet.close()
            await expiry_sweeper.stop()
            await seen_writer.stop()
            await state.notifier.stop()
            if owns_database:
                await state.database.dispose()

    app = FastAPI(
        title="edgedock",
        version=agent_wheel.server_version(),  # the version its agent wheel carries too
        summary="Container applications from private registries on fleets of edge devices.",
        lifespan=lifespan,
        # FastAPI's own docs load scripts from a CDN: off, and /docs is ours (server/docs.py).
        docs_url=None,
        redoc_url=None,
    )
    app.state.edgedock = state
    app.state.expiry_sweeper = expiry_sweeper
    # Added first, so it runs inside the access log (which then records its 413s and 408s).
    app.add_middleware(
        BodyLimitMiddleware, max_bytes=settings.max_body_bytes, timeout=settings.body_timeout
    )
    app.add_middleware(DeviceFastPath, state=lambda: state)
    app.add_middleware(AccessLogMiddleware)
    handlers.install(app)
    # The device API first: a fleet hits it all the time, and routes are matched in order.
    app.include_router(device_api_router.router)
    app.include_router(registries_api.realm)
    app.include_router(credentials_api.router, prefix="/api/v1")
    app.include_router(rotation_api.router, prefix="/api/v1")
    app.include_router(applications_api.router, prefix="/api/v1")
    app.include_router(releases_api.application_releases, prefix="/api/v1")
    app.include_router(releases_api.router, prefix="/api/v1")
    app.include_router(audit_api.router, prefix="/api/v1")
    app.include_router(devices_api.router, prefix="/api/v1")
    app.include_router(deployments_api.router, prefix="/api/v1")
    app.include_router(registries_api.router, prefix="/api/v1")
    ui.install(app)
    if settings.docs:
        docs.install(app)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers. Never touches the database, so that an outage of
        the database does not get every replica restarted."""
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> dict[str, str]:
        """Readiness: this replica can serve, its database answers within a short deadline.
        A load balancer stops sending traffic on the 503 (the usual JSON error envelope)."""
        await state.database.ping(deadline=READY_TIMEOUT)
        return {"status": "ready"}

    return app

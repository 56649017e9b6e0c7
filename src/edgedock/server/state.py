"""What a running server holds: settings, database, keyring, notifier and fleet directory."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from edgedock.audit.writer import AuditWriter
from edgedock.config import Settings
from edgedock.crypto import Keyring
from edgedock.db import Database
from edgedock.device_api.fleet import Fleet
from edgedock.device_api.projection import BodyReader
from edgedock.device_api.pull_cache import PullTargetCache
from edgedock.notify import Notifier
from edgedock.registries.issuing import SignerCache
from edgedock.registries.pull_secrets import PullSecretWriter


@dataclass
class ServerState:
    settings: Settings
    database: Database
    keyring: Keyring
    notifier: Notifier
    fleet: Fleet
    audit: AuditWriter
    bodies: BodyReader
    pull_targets: PullTargetCache
    registry_signers: SignerCache
    pull_secrets: PullSecretWriter
    # Where credentials checks send their requests; None is the network (see create_app).
    registry_transport: httpx.AsyncBaseTransport | None = None

"""Settings, read from EDGEDOCK_* environment variables only when load_settings() is called."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from edgedock.insecure_registries import InsecureRegistries


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EDGEDOCK_", extra="ignore")

    data_dir: Path = Path("var")
    database_url: str | None = Field(
        default=None, description="sqlite:///path.db or postgresql://user@host:5432/db"
    )
    secret_keys: SecretStr | None = Field(
        default=None,
        description="The keyring: comma-separated `id:base64key` entries, the last one current.",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    # Seconds a database statement may take (connecting: half); past it a request answers 503.
    database_timeout: float = Field(default=5.0, gt=0, le=300)
    # A long poll never waits longer than this, whatever the device asks for.
    max_poll_wait: float = 60.0
    # Request bodies: refused (413) past this size, and (408) when not complete in this time.
    # Bulk deploy of 10,000 device ids is about 400 KB; a credentials password at most 16 KiB.
    max_body_bytes: int = Field(default=1024 * 1024, gt=0)
    body_timeout: float = Field(default=30.0, gt=0)
    # The interactive API docs at /docs (Swagger UI, served locally); /openapi.json is always on.
    docs: bool = False
    # Registries a credentials check may speak plain HTTP to (`host[:port]` and CIDR entries,
    # comma-separated, like the engines' insecure-registries); every other one is HTTPS only.
    insecure_registries: str = ""

    @field_validator("insecure_registries")
    @classmethod
    def _insecure_registries(cls, value: str) -> str:
        InsecureRegistries.parse(value)  # refuse a bad entry at start-up, naming it
        return value

    @property
    def insecure_registry_rules(self) -> InsecureRegistries:
        return InsecureRegistries.parse(self.insecure_registries)

    # Image credentials show `expiring` this many days before their expiry.
    credentials_expiry_warning_days: float = Field(default=7, ge=0, le=365)
    # How often the server looks for credentials that crossed into expiring or expired, to put
    # it in the audit trail (once per credentials and state, whichever replica gets there first).
    credentials_expiry_sweep_interval: float = Field(default=300.0, gt=0)

    # Where people and engines reach this server (brokered registries' realm URLs start here).
    public_url: str = "http://127.0.0.1:8000"
    # Brokered registries: how long a registry token lives, and a device's pull secret.
    registry_token_ttl_seconds: int = Field(default=300, ge=30, le=3600)
    pull_secret_ttl_seconds: int = Field(default=180, ge=10, le=3600)

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'edgedock.db'}"

    @property
    def credentials_expiry_warning(self) -> timedelta:
        return timedelta(days=self.credentials_expiry_warning_days)

    @property
    def key_file(self) -> Path:
        return self.data_dir / "secret-keys"

    @property
    def is_embedded(self) -> bool:
        """True when nothing was configured: SQLite and a key file under the data dir."""
        return self.database_url is None


def load_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]

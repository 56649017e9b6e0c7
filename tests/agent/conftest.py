"""Agent tests run against the real registry and Podman service of `tests.support.fixtures`."""

# pytest honours `pytest_plugins` only in the top-level conftest (owned elsewhere), so the session
# fixtures are imported here instead, which registers them for tests/agent alone.
from tests.support.fixtures import engine, private_image, registry, registry_credentials

__all__ = ["engine", "private_image", "registry", "registry_credentials"]

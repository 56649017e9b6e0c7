"""Errors of the agent's engine boundary; no docker SDK, requests or httpx exception gets past it.

Messages name images and containers, never credentials: the X-Registry-Auth value and the
password inside it must not reach a message, a log line or a status report.
"""

from __future__ import annotations


class AgentError(Exception):
    """Base of every error the agent raises on purpose."""


class EngineError(AgentError):
    """The container engine could not do what was asked."""


class EngineUnavailable(EngineError):
    """The engine did not answer: socket missing, connection refused or dropped, timeout."""


class EnginePullFailed(EngineError):
    """The engine answered a pull with an error.

    ``str()`` is the engine's own message, verbatim (for a registry that refuses the credentials,
    Podman says ``initializing source docker://…: reading manifest … in …: unauthorized:
    authentication required``, ending in the registry's text), so the operator sees what the
    registry said. ``image`` is the reference that was pulled.
    """

    def __init__(self, message: str, *, image: str) -> None:
        super().__init__(message)
        self.image = image


class EngineOperationFailed(EngineError):
    """The engine refused to create, start, stop, remove or inspect a container."""

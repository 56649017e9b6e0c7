"""What a registry said, in its own words, and what the network did, named as such.

The credentials check (registry_check.py) surfaces these messages; they are cleaned here to one
bounded line, and scrubbed of secrets there.
"""

from __future__ import annotations

import contextlib
import json
import ssl
from typing import Any

import httpx

MAX_MESSAGE = 500
TIMEOUT = "timeout"
TLS_ERROR = "tls_error"
CONNECTION_ERROR = "connection_error"


def error_codes(answer: httpx.Response) -> set[str]:
    body = _json(answer)
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list):
        return set()
    return {str(e.get("code", "")).upper() for e in errors if isinstance(e, dict)}


def _json(answer: httpx.Response) -> Any:
    try:
        return json.loads(answer.content)
    except ValueError:
        return None


def words(answer: httpx.Response, *, what: str) -> str:
    """What the registry said, as the docker CLI prints it (`manifest unknown: …`)."""
    body = _json(answer)
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors:
            said = [_registry_error(e) for e in errors if isinstance(e, dict)]
            if said:
                return "; ".join(said)
        for key in ("details", "error_description", "error", "message"):
            if isinstance(body.get(key), str) and body[key].strip():
                return str(body[key])
    text = answer.content.decode("utf-8", "replace").strip()
    if text and not text.lstrip().startswith("<"):
        return f"{what}: HTTP {answer.status_code}: {text}"
    return f"{what}: HTTP {answer.status_code}"


def _registry_error(error: dict[str, Any]) -> str:
    code = str(error.get("code", "")).lower().replace("_", " ").strip()
    message = str(error.get("message", "")).strip()
    if code and message and message != code:
        return f"{code}: {message}"
    return code or message or "error"


def transport_error(exc: httpx.HTTPError) -> tuple[str, str]:
    where = ""
    with contextlib.suppress(RuntimeError):  # `request` raises when none was attached
        where = f" ({exc.request.url.host})"
    if isinstance(exc, httpx.TimeoutException):
        return TIMEOUT, f"the registry did not answer in time{where}"
    if _is_tls(exc):
        return TLS_ERROR, f"TLS error{where}: {_cause(exc)}"
    if isinstance(exc, httpx.ConnectError):
        return CONNECTION_ERROR, f"cannot connect to the registry{where}: {_cause(exc)}"
    return CONNECTION_ERROR, f"the connection to the registry failed{where}: {_cause(exc)}"


def _is_tls(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLError | ssl.CertificateError):
            return True
        if any(word in str(seen) for word in ("SSL", "CERTIFICATE_VERIFY", "TLS")):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _cause(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def clean(message: str) -> str:
    """One line, no control characters, bounded: it goes into a column, a log and a page."""
    text = "".join(
        c if c.isprintable() and not 0xD800 <= ord(c) <= 0xDFFF else " " for c in message
    )
    text = " ".join(text.split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"

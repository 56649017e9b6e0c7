"""Every form of a pull's secret that an engine might echo, and their removal from a message.

An engine's error text passes through logs and status reports to the server's timeline and
audit trail, so nothing of the credentials may survive in it. Engines do not echo a password
verbatim only: Docker writes JSON with Go's escaping (`\\"`, `\\\\`, `\\u003c` for `<`, …), an
error may quote the X-Registry-Auth header it was sent (in either base64 alphabet, with or
without padding), and an HTTP layer may show the `user:password` basic form or its base64.
Pure: no I/O, so every form can be tested with awkward passwords.
"""

from __future__ import annotations

import base64
import contextlib

from edgedock import registry_auth
from edgedock import secret_forms as secret_forms_

REDACTED = secret_forms_.REDACTED
_MIN_SECRET = secret_forms_.MIN_SECRET
_SECRET_FIELDS = ("password", "identitytoken", "registrytoken")
_base64_forms = secret_forms_.base64_forms
_json_forms = secret_forms_.json_forms


def secret_forms(x_registry_auth: str) -> list[str]:
    """The strings to remove from anything an engine says about a pull with this header.

    Longest first, so that a form containing another is removed whole.
    """
    forms = {x_registry_auth, x_registry_auth.strip()}
    with contextlib.suppress(ValueError):
        text = x_registry_auth.strip().rstrip("=").replace("-", "+").replace("_", "/")
        forms |= _base64_forms(base64.b64decode(text + "=" * (-len(text) % 4)))
    fields: dict[str, str] = {}
    with contextlib.suppress(ValueError):
        fields = registry_auth.decode(x_registry_auth)
    username = fields.get("username", "")
    for key in _SECRET_FIELDS:
        secret = fields.get(key, "")
        if not secret:
            continue
        basic = f"{username}:{secret}"
        forms |= {basic} | _json_forms(basic) | _base64_forms(basic.encode("utf-8"))
        if len(secret) >= _MIN_SECRET:
            forms |= {secret} | _json_forms(secret)
    return sorted((f for f in forms if f), key=len, reverse=True)


def redact(message: str, x_registry_auth: str | None) -> str:
    """``message`` with every form of the header's secret replaced by ``[redacted]``."""
    if x_registry_auth is None:
        return message
    for form in secret_forms(x_registry_auth):
        message = message.replace(form, REDACTED)
    return message
